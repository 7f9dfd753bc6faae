"""Camera view, facing, near side and capture quality on synthetic lifters of known heading."""

from __future__ import annotations

import json
import math
from importlib import resources

import numpy as np
import pytest

from analyzer.errors import ConfigError
from analyzer.rules import load_table
from analyzer.types import PoseSequence, to_plain
from analyzer.view import FILM_TIP, VIEWS, analyze_view, capture_quality, classify_yaw, facing_x, heading_deg
from tests.factories import STANDING_SPAN_M, side_view_sequence, turned_sequence, with_missing

FPS = 30.0


def clock(duration_s: float, fps: float = FPS) -> np.ndarray:
    return np.arange(int(round(duration_s * fps))) / fps


# ------------------------------------------------------------------------------------------ heading


@pytest.mark.parametrize("heading", [0.0, 10.0, 30.0, 45.0, 60.0, 90.0, -90.0, -45.0, 135.0, -135.0, 180.0])
@pytest.mark.parametrize("with_world", [True, False])
def test_heading_recovered_within_half_degree(heading: float, with_world: bool) -> None:
    t = clock(1.0)
    got = heading_deg(turned_sequence(np.full(len(t), heading), t, with_world=with_world))
    # Without world landmarks the image widths give the yaw and the labelled joint order front vs rear.
    diff = (got - heading + 180.0) % 360.0 - 180.0
    assert np.all(np.abs(diff) < 0.5), (heading, got[:3])


def test_heading_nan_where_nobody_was_found() -> None:
    t = clock(2.0)
    seq = with_missing(turned_sequence(np.full(len(t), 90.0), t), 0.5, 1.0)
    got = heading_deg(seq)
    assert np.all(np.isnan(got[~seq.detected])) and np.all(np.isfinite(got[seq.detected]))


@pytest.mark.parametrize(
    ("yaw", "view"),
    [(0.0, "front"), (22.4, "front"), (22.6, "oblique"), (45.0, "oblique"), (67.4, "oblique"), (67.6, "side"),
     (90.0, "side"), (112.4, "side"), (112.6, "oblique"), (135.0, "oblique"), (157.6, "rear"), (180.0, "rear")],
)
def test_view_boundaries_halfway_between_ideal_views(yaw: float, view: str) -> None:
    assert VIEWS[int(classify_yaw(np.array([yaw]))[0])] == view


# ---------------------------------------------------------------------------------- whole-clip view


@pytest.mark.parametrize(
    ("heading", "view", "facing", "near"),
    [
        (90.0, "side", "right", "right"),
        (-90.0, "side", "left", "left"),
        (80.0, "side", "right", "right"),
        (45.0, "oblique", "right", "right"),
        (-40.0, "oblique", "left", "left"),
        (-135.0, "oblique", "left", "left"),
        (10.0, "front", "toward", "right"),
        (-10.0, "front", "toward", "left"),
        (170.0, "rear", "away", "right"),
        (-170.0, "rear", "away", "left"),
    ],
)
def test_constant_heading_gives_one_segment(heading: float, view: str, facing: str, near: str) -> None:
    t = clock(4.0)
    report = analyze_view(turned_sequence(np.full(len(t), heading), t))
    assert [s.view for s in report.segments] == [view]
    assert (report.view, report.facing, report.near_side) == (view, facing, near)
    seg = report.segments[0]
    assert seg.start_s == 0.0 and seg.end_s == pytest.approx(4.0, abs=1e-9)
    assert seg.heading_deg == pytest.approx(heading, abs=0.5)
    assert report.view_share == 1.0
    assert 0.5 <= report.confidence <= 1.0


@pytest.mark.parametrize(("heading", "confidence"), [(90.0, 1.0), (45.0, 1.0), (80.0, 0.5 + 0.5 * 12.5 / 22.5)])
def test_confidence_grows_with_margin_from_the_boundary(heading: float, confidence: float) -> None:
    t = clock(3.0)
    report = analyze_view(turned_sequence(np.full(len(t), heading), t))
    assert report.confidence == pytest.approx(confidence, abs=0.002)


def test_side_view_without_world_landmarks_uses_image_widths() -> None:
    t = clock(3.0)
    for facing, word in ((1, "right"), (-1, "left")):
        seq = side_view_sequence(np.full(len(t), 40.0), t, facing=facing)
        report = analyze_view(seq)
        assert (report.view, report.facing, report.near_side) == ("side", word, word)


# ------------------------------------------------------------------------------------ segmentation


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        # (start_s, heading) steps over a 12 s clip -> expected (view, start_s, end_s)
        ([(0.0, 0.0), (6.0, 90.0)], [("front", 0.0, 6.0), ("side", 6.0, 12.0)]),
        ([(0.0, 0.0), (4.0, 90.0), (8.0, 0.0)], [("front", 0.0, 4.0), ("side", 4.0, 8.0), ("front", 8.0, 12.0)]),
        ([(0.0, -90.0), (5.0, 45.0)], [("side", 0.0, 5.0), ("oblique", 5.0, 12.0)]),
        ([(0.0, 180.0), (3.0, -90.0)], [("rear", 0.0, 3.0), ("side", 3.0, 12.0)]),
        # a 0.5 s flash of another view (a cross-fade) is shorter than min_segment_s and absorbed
        ([(0.0, 0.0), (5.0, 90.0), (5.5, 0.0)], [("front", 0.0, 12.0)]),
    ],
)
def test_camera_cuts_split_the_clip(schedule: list[tuple[float, float]], expected: list[tuple]) -> None:
    t = clock(12.0)
    heading = np.zeros(len(t))
    for start, value in schedule:
        heading[t >= start - 1e-9] = value
    report = analyze_view(turned_sequence(heading, t))
    got = [(s.view, s.start_s, s.end_s) for s in report.segments]
    assert len(got) == len(expected), got
    for (view, start, end), (e_view, e_start, e_end) in zip(got, expected, strict=True):
        assert view == e_view
        assert start == pytest.approx(e_start, abs=1.5 / FPS) and end == pytest.approx(e_end, abs=1.5 / FPS)


@pytest.mark.parametrize(
    ("centre", "noise_deg", "view"),
    [(67.5, 6.0, None), (22.5, 6.0, None), (80.0, 8.0, "side"), (45.0, 8.0, "oblique"), (5.0, 8.0, "front")],
)
def test_noisy_heading_does_not_flip_flop(centre: float, noise_deg: float, view: str | None) -> None:
    t = clock(20.0)
    rng = np.random.default_rng(7)
    heading = centre + rng.normal(0.0, noise_deg, len(t))
    heading[::15] += 90.0  # single-frame glitches twice a second
    report = analyze_view(turned_sequence(heading, t))
    assert len(report.segments) == 1, [(s.view, s.start_s, s.end_s) for s in report.segments]
    if view is not None:
        assert report.view == view


@pytest.mark.parametrize(("gap", "n_segments"), [((4.0, 4.5), 1), ((4.0, 7.0), 2)])
def test_gaps_longer_than_max_gap_split_segments(gap: tuple[float, float], n_segments: int) -> None:
    t = clock(10.0)
    seq = with_missing(turned_sequence(np.full(len(t), 90.0), t), *gap)
    report = analyze_view(seq)
    assert len(report.segments) == n_segments
    assert all(s.view == "side" for s in report.segments)
    if n_segments == 2:
        assert report.segments[0].end_s == pytest.approx(gap[0], abs=1.5 / FPS)
        assert report.segments[1].start_s == pytest.approx(gap[1], abs=1.5 / FPS)
        assert report.view_share == 1.0


def test_dominant_view_is_the_longest() -> None:
    t = clock(10.0)
    heading = np.where(t < 3.0, 0.0, 90.0)
    report = analyze_view(turned_sequence(heading, t))
    assert report.view == "side" and report.view_share == pytest.approx(0.7, abs=0.01)


def test_nobody_found() -> None:
    seq = PoseSequence.empty(clock(2.0), (640, 480))
    report = analyze_view(seq)
    assert report.segments == () and report.view == "unknown" and report.near_side == "unknown"
    assert report.quality.verdict == "poor" and report.quality.detected_share == 0.0


# ------------------------------------------------------------------------------------ capture quality


def _quality(seq: PoseSequence, view: str = "side") -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    q = capture_quality(seq, view=view)
    return q.verdict, q.reasons, q.tips


def test_good_capture_has_no_reasons() -> None:
    t = clock(3.0)
    q = capture_quality(turned_sequence(np.full(len(t), 90.0), t), view="side")
    assert q.verdict == "good" and q.reasons == () and q.tips == ()
    assert q.person_height_frac == pytest.approx(STANDING_SPAN_M * 300.0 / 720.0, abs=0.001)
    assert q.fps == pytest.approx(FPS, abs=0.01)
    assert q.detected_share == 1.0 and q.key_joints_visible_share == 1.0
    assert q.head_out_share == 0.0 and q.feet_out_share == 0.0


@pytest.mark.parametrize(
    ("kwargs", "verdict", "reason_word"),
    [
        ({"px_per_m": 80.0}, "poor", "frame height"),  # 1.64 m * 80 px/m = 131 px = 18 % of 720
        ({"px_per_m": 170.0}, "usable", "frame height"),  # 39 %
        ({"feet_y": 420.0}, "poor", "head"),  # eyes at 420 - 1.64 * 300 < 0
        ({"feet_y": 800.0}, "poor", "feet"),
        ({"fps": 8.0}, "poor", "frame rate"),
        ({"fps": 15.0}, "usable", "frame rate"),
        ({"fps": 60.0}, "good", None),
        ({"far_visibility": 0.0}, "good", None),  # the far side hidden is normal in a side view
    ],
)
def test_capture_quality_checks(kwargs: dict, verdict: str, reason_word: str | None) -> None:
    fps = kwargs.pop("fps", FPS)
    t = clock(3.0, fps)
    got, reasons, tips = _quality(turned_sequence(np.full(len(t), 90.0), t, **kwargs))
    assert got == verdict, reasons
    if reason_word is None:
        assert reasons == ()
    else:
        assert any(reason_word in r for r in reasons) and tips


@pytest.mark.parametrize(("missing", "share", "verdict"), [((0.0, 2.0), 1 / 3, "poor"), ((0.0, 1.0), 2 / 3, "usable")])
def test_detected_share(missing: tuple[float, float], share: float, verdict: str) -> None:
    t = clock(3.0)
    q = capture_quality(with_missing(turned_sequence(np.full(len(t), 90.0), t), *missing), view="side")
    assert q.detected_share == pytest.approx(share, abs=0.01) and q.verdict == verdict


def test_hidden_joints_make_it_poor() -> None:
    t = clock(3.0)
    seq = turned_sequence(np.full(len(t), 90.0), t)
    vis = seq.visibility.copy()
    vis[:, 23:29] = 0.2  # hips, knees, ankles behind a plate
    seq = PoseSequence(xy=seq.xy, z=seq.z, visibility=vis, world=seq.world, t=seq.t, frame_size=seq.frame_size)
    q = capture_quality(seq, view="side")
    assert q.key_joints_visible_share == pytest.approx(0.4, abs=1e-6) and q.verdict == "poor"


@pytest.mark.parametrize("heading", [0.0, 45.0, 180.0])
def test_non_side_view_is_usable_with_the_filming_tip(heading: float) -> None:
    t = clock(3.0)
    report = analyze_view(turned_sequence(np.full(len(t), heading), t))
    assert report.quality.verdict == "usable" and FILM_TIP in report.quality.tips
    assert not report.sagittal


def test_frame_rate_from_timestamps_not_a_nominal_fps() -> None:
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.8, 1.2, 90) / 25.0)  # variable frame rate around 25 fps
    q = capture_quality(turned_sequence(np.full(len(t), 90.0), t), view="side")
    assert q.fps == pytest.approx(1.0 / np.median(np.diff(t)), abs=0.005)  # reported to 0.01 Hz


# ------------------------------------------------------------------------------- output and config


def test_report_is_json_plain() -> None:
    t = clock(6.0)
    report = analyze_view(turned_sequence(np.where(t < 3.0, 0.0, -90.0), t))
    plain = to_plain(report)
    text = json.dumps(plain, allow_nan=False)
    assert json.loads(text)["segments"][1]["facing"] == "left"
    assert plain["quality"]["verdict"] in ("good", "usable", "poor")
    assert plain["thresholds_id"].startswith("view@")


def test_every_threshold_has_unit_and_reason() -> None:
    table = load_table("view")
    assert table.thresholds
    for name, threshold in table.thresholds.items():
        assert threshold.unit and len(threshold.reason) > 20, name
        assert math.isfinite(threshold.value), name


def test_thresholds_come_from_the_table(tmp_path) -> None:
    source = resources.files("analyzer.models").joinpath("view.toml").read_text()
    (tmp_path / "view.toml").write_text(source.replace("value = 67.5", "value = 50.0"))
    table = load_table("view", tmp_path)
    t = clock(3.0)
    seq = turned_sequence(np.full(len(t), 60.0), t)
    assert analyze_view(seq).view == "oblique"
    assert analyze_view(seq, table=table).view == "side"


def test_missing_table_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError):
        load_table("view", tmp_path)


# ------------------------------------------------------------------------------------- facing_x


@pytest.mark.parametrize("facing", [1, -1])
def test_facing_x_side_view(facing: int) -> None:
    t = clock(1.0)
    got = facing_x(side_view_sequence(np.full(len(t), 30.0), t, facing=facing))
    assert np.all(got == facing)
