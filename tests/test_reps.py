import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.reps import RepThresholds, segment_reps
from tests.factories import hinge_signal

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
