import numpy as np
import pytest

from analyzer.tracking import Detection, distinct_people, link_tracks, select_lifter


def person(cx: float, cy: float, height: float, phase: float = 0.0) -> Detection:
    """A 33-point blob of the given height centred at (cx, cy); ``phase`` moves the top half."""
    rng = np.random.default_rng(0)
    base = rng.uniform(-0.5, 0.5, (33, 2)) * np.array([height * 0.4, height])
    base[:16, 0] += phase * height * 0.3  # upper body swings like a hinge
    return Detection(xy=np.asarray(base + np.array([cx, cy]), np.float32), visibility=np.ones(33, np.float32))


def frames(n: int, *people_fns) -> list[list[Detection]]:
    return [[fn(i) for fn in people_fns if fn(i) is not None] for i in range(n)]


LIFTER = lambda i: person(600, 400, 500, np.sin(i / 8))  # noqa: E731 - big, moving
STATUE = lambda i: person(200, 400, 550, 0.0)  # noqa: E731 - bigger, never moves
WALKER = lambda i: person(50 + 10 * i, 300, 150, 0.0)  # noqa: E731 - small, crosses the frame


@pytest.mark.parametrize(
    ("name", "order", "lifter_slot"),
    [
        ("lifter listed first", (LIFTER, STATUE), 0),
        ("lifter listed second: not the first detected", (STATUE, LIFTER), 1),
        ("small walker passing", (WALKER, LIFTER), 1),
    ],
)
def test_lifter_is_biggest_area_times_motion(name, order, lifter_slot):
    dets = frames(60, *order)
    choice = select_lifter(dets)
    assert choice == [lifter_slot] * 60, name


def test_order_swaps_between_frames_are_followed():
    dets = []
    for i in range(60):
        pair = [LIFTER(i), STATUE(i)]
        dets.append(pair if i % 2 else pair[::-1])
    choice = select_lifter(dets)
    picked = [dets[i][c] for i, c in enumerate(choice)]
    assert all(abs(p.centre[0] - 600) < 100 for p in picked)


def test_lifter_missing_for_some_frames_gives_none_there():
    dets = [[LIFTER(i)] if not 20 <= i < 30 else [] for i in range(60)]
    choice = select_lifter(dets)
    assert choice[:20] == [0] * 20 and choice[20:30] == [None] * 10 and choice[30:] == [0] * 30
    assert len(link_tracks(dets)) == 1  # the gap does not split the track


def test_no_people():
    assert select_lifter([[], []]) == [None, None]


def boxed(x0: float, y0: float, x1: float, y1: float) -> Detection:
    """A detection whose landmarks span exactly the box (x0, y0)-(x1, y1)."""
    xy = np.linspace([x0, y0], [x1, y1], 33)
    return Detection(xy=xy.astype(np.float32), visibility=np.ones(33, np.float32))


@pytest.mark.parametrize(
    ("name", "people", "kept"),
    [
        # boxes measured on a real clip: the model's second pose on a lifter half hidden by the plates
        ("second skeleton inside the lifter", [boxed(357, 114, 396, 420), boxed(364, 249, 400, 385)], [0]),
        ("duplicate listed first is still the one dropped", [boxed(367, 118, 398, 380), boxed(358, 106, 394, 408)],
         [1]),
        ("two people side by side", [boxed(100, 100, 200, 400), boxed(180, 100, 280, 400)], [0, 1]),
        ("spotter half overlapping", [boxed(100, 100, 200, 400), boxed(150, 120, 260, 400)], [0, 1]),
        ("one person", [boxed(0, 0, 10, 10)], [0]),
        ("nobody", [], []),
    ],
)
def test_distinct_people_drops_a_person_found_twice(name, people, kept):
    assert sorted(distinct_people(people)) == kept, name


def test_a_duplicate_for_a_few_frames_does_not_cut_the_lifter_track():
    """As on a real clip: the lifter rises from the bottom (the centre jumps up) and for 3 frames the model
    also returns a second, smaller skeleton where the crouched lifter was. Without the duplicate dropped,
    that skeleton continues the crouched track, the risen lifter starts a new one, the two share 3 frames
    and the crouched part (the whole first pull) is lost."""
    crouched = lambda i: person(600, 450, 300, 0.1 * np.sin(i / 8))  # noqa: E731
    risen = lambda i: person(600, 330, 500, np.sin(i / 8))  # noqa: E731
    dets = [[crouched(i)] if i < 30 else [risen(i)] for i in range(60)]
    for i in (30, 31, 32):
        dets[i].append(boxed(560, 330, 640, 570))  # inside the risen lifter's box, centred where they crouched
    choice = select_lifter(dets)
    assert choice == [0] * 60
