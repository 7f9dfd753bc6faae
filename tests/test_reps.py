import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.kinematics import measure
from analyzer.reps import (
    RepThresholds,
    TrunkOptions,
    camera_cuts,
    count_reps,
    segment_reps,
    thresholds_from_rules,
    trunk_signal,
    world_trunk_inclination_deg,
)
from analyzer.rules import load_rules
from analyzer.types import PoseSequence
from tests.factories import hinge_lifter_sequence, hinge_signal

TH = RepThresholds(hinged_min_deg=35, lockout_max_deg=20, min_rep_s=0.8, max_gap_s=1.0)
FPS = 30.0


def _t(seconds: float, fps: float = FPS) -> np.ndarray:
    return np.arange(0, seconds, 1 / fps)


@pytest.mark.parametrize(
    ("name", "seconds", "bottoms", "expected"),
    [
        ("five clean reps", 20, [2, 6, 10, 14, 18], 5),
        ("one rep", 5, [2.5], 1),
        ("starts at the bottom (counts the first lockout)", 8, [0.0, 4.5], 2),
        ("ends at the bottom (unfinished pull is not a rep)", 8, [2.5, 8.0], 1),
        ("no reps while standing", 10, [], 0),
        ("touch and go: bottoms 2.2 s apart", 12, [2, 4.2, 6.4, 8.6], 4),
    ],
)
def test_rep_count_table(name, seconds, bottoms, expected):
    t = _t(seconds)
    reps = segment_reps(t, hinge_signal(t, bottoms), TH)
    assert len(reps) == expected, name
    for rep, bottom in zip(reps, [b for b in bottoms if b < seconds - 1.0], strict=False):
        assert rep.start_s <= rep.bottom_s <= rep.lockout_s <= rep.end_s
        if bottom > 0:
            assert rep.bottom_s == pytest.approx(bottom, abs=1.5 / FPS)


def test_setup_bows_and_shuffles_below_the_hinge_band_are_not_reps():
    t = _t(20)
    x = hinge_signal(t, [4, 9, 14])
    x += np.where((t > 0.5) & (t < 1.5), 20.0, 0.0)  # a bow to the bar, not a hinge (peaks 33 deg)
    x += 8 * np.sin(2 * np.pi * 3 * t)  # fidgeting
    assert len(segment_reps(t, x, TH)) == 3


def test_a_spike_shorter_than_a_rep_is_ignored():
    t = _t(10)
    x = hinge_signal(t, [5])
    x[60:63] = 80.0  # three-frame tracking glitch at 2 s
    assert len(segment_reps(t, x, TH)) == 1


def test_a_lean_back_past_the_band_is_the_lockout_it_finishes_not_the_frames_after_it():
    """Unsigned, a 30 deg lean-back reads like a shallow hinge; marked as leaning back it is the rep's lockout,
    so the rep's lockout-to-end window holds the lean the hyperextension check reads."""
    t = _t(8)
    x = np.interp(t, [0, 1, 2, 2.5, 3.5, 3.9, 5.0, 5.4, 8], [5, 5, 60, 60, 5, 30, 30, 5, 5])
    back = (t > 3.5) & (t < 5.4)  # the lean-back stretch (its frames past the band are marked below)
    (unsigned,) = segment_reps(t, x, TH)
    (signed,) = segment_reps(t, x, TH, leaning_back=back & (x > TH.lockout_max_deg))
    assert signed.start_s == unsigned.start_s and signed.bottom_s == unsigned.bottom_s
    assert signed.lockout_s == pytest.approx(3.23, abs=0.05) and signed.end_s >= 7.9
    assert unsigned.end_s < 3.8, "unsigned, the lean-back cuts the lockout short"
    far = np.interp(t, [0, 1, 2, 2.5, 3.5, 3.9, 5.0, 5.4, 8], [5, 5, 60, 60, 5, 40, 40, 5, 5])
    assert len(segment_reps(t, far, TH)) == 2, "unsigned, a 40 deg lean-back reads as a second hinge"
    (one,) = segment_reps(t, far, TH, leaning_back=back & (far > TH.lockout_max_deg))
    assert one.end_s >= 7.9, "leaning back is never a hinge, however far"


ELBOWS = RepThresholds(hinged_min_deg=35, lockout_max_deg=20, min_rep_s=0.8, max_gap_s=1.0, min_lockout_s=0.2,
                       lockout_elbow_min_deg=120, elbow_min_visibility=0.5)


@pytest.mark.parametrize(
    ("name", "elbow_at_second_top", "arm_visibility", "expected"),
    [
        # one pull (bottom 2 s, lockout ~3-5 s), the bar set down (bottom 6 s), then standing up to 7 s
        ("stands up with a hand on the belt (elbow 90): set the bar down, one rep", 90.0, 0.95, 1),
        ("stands up with arms hanging straight: indistinguishable from a second pull", 170.0, 0.95, 2),
        ("bent elbow read on an arm the model can't see: no objection", 90.0, 0.2, 2),
        ("elbow bent just short of the threshold", 125.0, 0.95, 2),
    ],
)
def test_standing_up_with_bent_arms_is_no_lockout(name, elbow_at_second_top, arm_visibility, expected):
    t = _t(10)
    x = hinge_signal(t, [2.0, 6.0])
    elbow = np.where(t > 6.5, elbow_at_second_top, 172.0)  # from the middle of the stand-up
    reps = segment_reps(t, x, ELBOWS, elbow_deg=elbow, arm_visibility=np.full(len(t), arm_visibility))
    assert len(reps) == expected, name
    assert reps[0].lockout_s == pytest.approx(3.0, abs=0.3)


def test_a_press_at_the_top_does_not_cancel_the_lockout_before_it():
    """An RDL with a shoulder press at the top (a real clip does this): the arms straight for the first
    0.5 s at the top, then bent by the press; the lockout was held straight first, so the rep counts."""
    t = _t(10)
    x = hinge_signal(t, [2.0, 6.0])
    top = (t > 3.0) & (t < 5.0)
    elbow = np.where(top & (t > 3.5), 70.0, 172.0)
    assert len(segment_reps(t, x, ELBOWS, elbow_deg=elbow, arm_visibility=np.ones(len(t)))) == 2


def test_long_gap_splits_and_short_gap_is_bridged():
    t = _t(12)
    x = hinge_signal(t, [3, 8])
    short = x.copy()
    short[(t > 2.8) & (t < 3.2)] = np.nan  # 0.4 s gap at the bottom: bridged
    assert len(segment_reps(t, short, TH)) == 2
    long_gap = x.copy()
    long_gap[(t > 2.0) & (t < 3.6)] = np.nan  # 1.6 s gap: the rep can't be seen whole
    reps = segment_reps(t, long_gap, TH)
    assert [round(r.bottom_s) for r in reps] == [8]


@settings(max_examples=40, deadline=None)
@given(
    n_reps=st.integers(0, 6),
    jitter_deg=st.floats(0, 4),
    fps=st.sampled_from([24.0, 30.0, 60.0]),
    gap_at=st.floats(0.05, 0.95),
    seed=st.integers(0, 10_000),
)
def test_count_is_exact_under_jitter_and_short_gaps(n_reps, jitter_deg, fps, gap_at, seed):
    rng = np.random.default_rng(seed)
    seconds = 3.0 + 4.0 * n_reps
    t = np.sort(np.arange(0, seconds, 1 / fps) + rng.uniform(-0.2, 0.2, int(np.ceil(seconds * fps))) / fps)
    t = np.unique(t)
    bottoms = [2.0 + 4.0 * k for k in range(n_reps)]
    x = hinge_signal(t, bottoms) + rng.normal(0, jitter_deg, len(t))
    gap = (t > gap_at * seconds) & (t < gap_at * seconds + 0.3)
    x[gap] = np.nan
    assert len(segment_reps(t, x, TH)) == n_reps


# --- robustness: impossible poses, flickers, camera pitch, cuts, partial first reps, oblique views ---

ROBUST = RepThresholds(
    hinged_min_deg=35, lockout_max_deg=20, min_rep_s=0.8, max_gap_s=1.0, max_valid_deg=135,
    lockout_hip_flexion_max_deg=20, min_lockout_s=0.2,
)
SWING = RepThresholds(hinged_min_deg=25, lockout_max_deg=20, min_rep_s=0.4, max_gap_s=1.0, min_lockout_s=0.1)


def test_flipped_pose_readings_are_dropped_not_counted():
    t = _t(12)
    x = hinge_signal(t, [3, 8])
    x[(t > 5.0) & (t < 6.0)] = 170.0  # pose upside down for 1 s while standing: no rep
    assert len(segment_reps(t, x, TH)) == 3  # the plain band is fooled
    assert len(segment_reps(t, x, ROBUST)) == 2


def test_an_upright_flicker_in_mid_hinge_does_not_finish_a_rep():
    t = _t(8)
    x = hinge_signal(t, [0.0, 1.2, 5.0], half_width_s=1.6)  # clip starts in a long first rep
    x[(t > 0.5) & (t < 0.62)] = 5.0  # 4 frames of an upright pose while still hinged
    assert len(segment_reps(t, x, TH)) == 3
    assert len(segment_reps(t, x, ROBUST)) == 2


@pytest.mark.parametrize(
    ("name", "hold_s", "expected"),
    [("ends at lockout, held briefly", 0.1, 1), ("lockout held", 1.0, 1)],
)
def test_clip_ending_at_lockout_counts(name, hold_s, expected):
    t = _t(3.0 + hold_s)
    x = hinge_signal(t, [2.0])
    assert len(segment_reps(t, x, ROBUST)) == expected, name


def test_glimpse_of_an_ascent_at_the_start_is_not_a_rep():
    t = _t(6)
    x = hinge_signal(t, [-0.8, 3.0])  # only the last 0.2 s of the first ascent is in the clip
    assert [round(r.bottom_s) for r in segment_reps(t, x, ROBUST)] == [3]


def test_open_hips_count_as_lockout_when_the_trunk_reads_forward():
    """A low camera makes the standing trunk read ~25 deg; the hips are straight, so it is a lockout."""
    t = _t(12)
    x = hinge_signal(t, [3, 8], standing_deg=25.0)
    hip_flexion = np.clip(x - 20.0, 0, None) * 1.5  # hips straight when standing, flexed when hinged
    assert len(segment_reps(t, x, ROBUST)) == 0
    assert len(segment_reps(t, x, ROBUST, hip_flexion_deg=hip_flexion)) == 2


def test_no_rep_spans_a_camera_cut():
    """Shot A ends with the lifter hinged, shot B opens at lockout: that jump is no rep."""
    t = _t(10)
    x = hinge_signal(t, [2.5, 7.5])
    x[(t > 4.0) & (t < 5.0)] = 60.0
    breaks = np.zeros(len(t), bool)
    breaks[np.searchsorted(t, 5.0)] = True
    assert len(segment_reps(t, x, ROBUST)) == 3
    reps = segment_reps(t, x, ROBUST, breaks=breaks)
    assert [r.bottom_s for r in reps] == pytest.approx([2.5, 7.5], abs=0.05)


@settings(max_examples=30, deadline=None)
@given(
    n_reps=st.integers(1, 15), period_s=st.floats(1.1, 1.8), jitter_deg=st.floats(0, 2),
    seed=st.integers(0, 10_000), setup_s=st.floats(0.5, 3.0),
)
def test_kettlebell_swing_cadence_is_counted_exactly(n_reps, period_s, jitter_deg, seed, setup_s):
    """Swings: 40 deg backswings every 1.1-1.8 s after a set-up with a 15 deg bow (hike prep)."""
    rng = np.random.default_rng(seed)
    t = _t(setup_s + period_s * (n_reps + 1))
    bottoms = [setup_s + period_s * (k + 0.5) for k in range(n_reps)]
    x = hinge_signal(t, bottoms, depth_deg=40, half_width_s=0.4 * period_s, standing_deg=3)
    x += np.where(t < setup_s - 0.3, 15.0, 0.0) + rng.normal(0, jitter_deg, len(t))
    assert len(segment_reps(t, x, SWING)) == n_reps


@settings(max_examples=30, deadline=None)
@given(
    n_reps=st.integers(0, 5), hold_s=st.floats(0.3, 6.0), walk_s=st.floats(1.0, 4.0), seed=st.integers(0, 10_000),
)
def test_walk_in_setup_holds_and_touch_and_go(n_reps, hold_s, walk_s, seed):
    """Walking in (trunk sways 5-15 deg), a bow to set up, lockout holds of any length: exact count."""
    rng = np.random.default_rng(seed)
    t = _t(walk_s + 2.0 + n_reps * (2.2 + hold_s) + 1.0)
    x = 10 + 5 * np.sin(2 * np.pi * 1.8 * t)  # gait sway
    x = np.where(t < walk_s, x, 5.0)
    bottoms = [walk_s + 2.0 + k * (2.2 + hold_s) for k in range(n_reps)]
    x = np.maximum(x, hinge_signal(t, bottoms, depth_deg=75))
    x = x + rng.normal(0, 1.5, len(t))
    assert len(segment_reps(t, x, ROBUST)) == n_reps


# --- driving signal ---

def test_world_trunk_inclination_is_view_independent():
    t = _t(6)
    truth = hinge_signal(t, [3.0], depth_deg=60)
    for yaw in (0.0, 45.0, 80.0):
        seq = hinge_lifter_sequence(t, truth, view_yaw_deg=yaw)
        np.testing.assert_allclose(world_trunk_inclination_deg(seq), truth, atol=0.5)


@pytest.mark.parametrize(
    ("yaw_deg", "expected_signal", "expected_reps"),
    [(0.0, "trunk_2d", 2), (30.0, "trunk_2d", 2), (60.0, "trunk_3d", 2), (80.0, "trunk_3d", 2)],
)
def test_count_reps_switches_to_3d_when_the_2d_trunk_is_foreshortened(yaw_deg, expected_signal, expected_reps):
    t = _t(12)
    seq = hinge_lifter_sequence(t, hinge_signal(t, [3, 8], depth_deg=65), view_yaw_deg=yaw_deg)
    kin = measure(seq)
    counted = count_reps(seq, kin.trunk_inclination_deg, load_rules("deadlift"), kin.hip_angle_deg)
    assert counted.signal_name == expected_signal
    assert len(counted.windows) == expected_reps


def test_trunk_signal_keeps_2d_in_a_side_view_and_fills_missing_3d():
    opts = TrunkOptions(foreshortening_deg=8, hinged_deg=35)
    two_d = np.array([5, 30, 60, 30, 5], float)
    three_d = np.array([5, 50, np.nan, 50, 5], float)
    signal, name = trunk_signal(two_d, three_d, opts)
    assert name == "trunk_3d"
    np.testing.assert_allclose(signal, [5, 50, 60, 50, 5])
    assert trunk_signal(two_d, two_d + 2, opts)[1] == "trunk_2d"


def test_camera_cuts_find_a_persistent_jump_but_not_a_glitch():
    t = _t(6)
    seq = hinge_lifter_sequence(t, np.full(len(t), 5.0))
    xy = seq.xy.copy()
    xy[90:] += np.array([300.0, 0.0], np.float32)  # cut at 3 s: the lifter is elsewhere in the frame
    xy[40] += np.array([300.0, 0.0], np.float32)  # one-frame glitch at 1.33 s
    moved = PoseSequence(xy=xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=t, frame_size=seq.frame_size)
    cuts = camera_cuts(moved, max_jump_torso=1.0, window_s=0.3)
    assert np.flatnonzero(cuts).tolist() == [90]


def test_thresholds_come_from_every_rule_table():
    for exercise in ("deadlift", "rdl", "good_morning", "kb_swing", "single_leg_rdl"):
        th = thresholds_from_rules(load_rules(exercise))
        assert th.lockout_max_deg < th.hinged_min_deg < th.max_valid_deg
        assert 0 < th.min_lockout_s < th.min_rep_s


# --- lockouts hidden in tracking gaps, glitched detections, clips that fade out at the top ---

GAPS = RepThresholds(
    hinged_min_deg=35, lockout_max_deg=20, min_rep_s=0.8, max_gap_s=1.0, max_valid_deg=135, min_lockout_s=0.2,
    min_track_s=0.15, gap_lockout_max_s=2.0, gap_edge_s=0.2, gap_ascent_fraction=0.33,
)


def _lost(t: np.ndarray, start_s: float, stop_s: float) -> np.ndarray:
    return ~((t >= start_s) & (t < stop_s))


# bottoms at 3.0 and 5.6 s (1 s half-width): the top between them is in the lockout band 3.68-4.92 s
TOP_BOTTOMS = [3.0, 5.6]


@pytest.mark.parametrize(
    ("name", "lost_s", "expected_reps", "expected_unseen"),
    [
        ("lost over the whole top (1.6 s): counted, its lockout unseen", (3.5, 5.1), 2, 1),
        ("lost from the band to the next descent (1.7 s)", (3.6, 5.3), 2, 1),
        ("lost 2.4 s: too long to say what happened", (3.3, 5.7), 1, 0),
        ("lost at the bottom: no lockout hides there", (2.55, 3.45), 2, 0),
        ("lost from mid-descent to the bottom", (5.05, 5.95), 2, 0),
        ("lost for a moment in the ascent: the lockout is seen", (3.4, 3.6), 2, 0),
        ("never lost", (0.0, 0.0), 2, 0),
    ],
)
def test_lockout_in_a_tracking_gap(name, lost_s, expected_reps, expected_unseen):
    t = _t(9)
    tracked = _lost(t, *lost_s)
    x = np.where(tracked, hinge_signal(t, TOP_BOTTOMS), np.nan)
    reps = segment_reps(t, x, GAPS, tracked=tracked)
    assert len(reps) == expected_reps, name
    assert sum(not r.lockout_seen for r in reps) == expected_unseen, name
    for r in reps:
        assert r.start_s <= r.bottom_s <= r.lockout_s <= r.end_s
        if not r.lockout_seen:
            assert lost_s[0] <= r.lockout_s < lost_s[1]


def test_without_gap_bridging_a_lockout_lost_for_long_splits_the_set():
    t = _t(9)
    tracked = _lost(t, 3.5, 5.1)
    x = np.where(tracked, hinge_signal(t, TOP_BOTTOMS), np.nan)
    off = RepThresholds(**{**GAPS.__dict__, "gap_lockout_max_s": 0.0})
    assert len(segment_reps(t, x, off, tracked=tracked)) == 1  # only the second rep, seen whole


@pytest.mark.parametrize(("name", "hips_move_px", "expected_unseen"),
                         [("same place", 0.0, 1), ("half a trunk away", 100.0, 1), ("two trunks away", 400.0, 0)])
def test_no_lockout_is_inferred_across_a_jump_of_the_hips(name, hips_move_px, expected_unseen):
    """Another person (or a camera cut) found after the gap: the hips are elsewhere, nothing is inferred."""
    t = _t(9)
    tracked = _lost(t, 3.5, 5.1)
    x = np.where(tracked, hinge_signal(t, TOP_BOTTOMS), np.nan)
    th = RepThresholds(**{**GAPS.__dict__, "gap_max_jump_torso": 1.0})
    hip = np.tile([500.0, 400.0], (len(t), 1))
    hip[t >= 5.1] += [hips_move_px, 0.0]
    torso = np.full(len(t), 200.0)
    reps = segment_reps(t, x, th, tracked=tracked, hip_xy=hip, torso_px=torso)
    assert sum(not r.lockout_seen for r in reps) == expected_unseen, name


@pytest.mark.parametrize(
    ("name", "glitch_frames", "min_track_s", "expected"),
    [
        ("one glitched upright frame in a gap at the bottom makes a ghost rep", 1, 0.0, 3),
        ("the same frame dropped as an island", 1, 0.15, 2),
        ("three frames (0.1 s) dropped", 3, 0.15, 2),
        ("six frames (0.2 s) are a real track", 6, 0.15, 3),
    ],
)
def test_brief_detections_inside_a_gap_are_dropped(name, glitch_frames, min_track_s, expected):
    """A pose found for an instant in the middle of an occlusion reads upright: no lockout from it."""
    t = _t(12)
    x = hinge_signal(t, [3.0, 9.0], half_width_s=2.5)  # long hinged stretch around 3 s
    tracked = _lost(t, 2.5, 3.5)
    mid = np.searchsorted(t, 3.0)
    tracked[mid:mid + glitch_frames] = True
    x = np.where(tracked, x, np.nan)
    x[mid:mid + glitch_frames] = 5.0
    th = RepThresholds(**{**GAPS.__dict__, "min_track_s": min_track_s, "min_lockout_s": 0.0, "gap_lockout_max_s": 0.0})
    assert len(segment_reps(t, x, th, tracked=tracked)) == expected, name


@pytest.mark.parametrize(
    ("name", "after_band_s", "expected"),
    [("fades out as the band is reached (0.1 s)", 0.1, 0), ("ends 0.17 s into the lockout", 0.17, 1),
     ("ends 0.5 s into the lockout", 0.5, 1)],
)
def test_a_lockout_cut_short_by_the_end_of_the_clip_needs_its_minimum_hold(name, after_band_s, expected):
    t = _t(6)
    x = hinge_signal(t, [3.0])
    band_at = t[np.flatnonzero((t > 3.0) & (x <= 20.0))[0]]
    keep = t <= band_at + after_band_s
    assert len(segment_reps(t[keep], x[keep], ROBUST)) == expected, name


def test_camera_cuts_ignore_a_couple_of_glitched_frames_at_a_gap():
    t = _t(6)
    seq = hinge_lifter_sequence(t, np.full(len(t), 5.0))
    xy = seq.xy.copy()
    xy[90:92] += np.array([300.0, 0.0], np.float32)  # two odd frames as the lifter is lost
    xy[92:130] = np.nan
    moved = PoseSequence(xy=xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=t, frame_size=seq.frame_size)
    assert not camera_cuts(moved, max_jump_torso=1.0, window_s=0.3).any()


def test_find_reps_marks_an_inferred_lockout_not_judgeable():
    from analyzer.pipeline import find_reps
    from tests.factories import with_missing

    t = _t(9)
    seq = with_missing(hinge_lifter_sequence(t, hinge_signal(t, TOP_BOTTOMS, depth_deg=65)), 3.5, 5.1)
    kin = measure(seq)
    reps, _ = find_reps(seq, kin, load_rules("deadlift"))
    unseen = [r for r in reps if not r.judgeable]
    assert len(unseen) == 1
    assert "not tracked at lockout" in unseen[0].not_judged_reason
    assert np.isnan(unseen[0].metrics["lockout_hold_s"])
