"""The vectorised window reductions give what a plain loop over frames gives (issue 7: no per-frame Python
loops in the analysis). The loops below are the reference definitions the analyzer used before."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzer.faults import sustained_max
from analyzer.reps import running_median


def _running_median_loop(t, x, window_s):
    out = np.full_like(x, np.nan)
    lo = np.searchsorted(t, t - window_s / 2, side="left")
    hi = np.searchsorted(t, t + window_s / 2, side="right")
    for i in np.flatnonzero(np.isfinite(x)):
        seg = x[lo[i]:hi[i]]
        out[i] = np.median(seg[np.isfinite(seg)])
    return out


def _sustained_max_loop(t, x, duration_s):
    finite = np.isfinite(x)
    best, at = float("nan"), -1
    for i in np.flatnonzero(finite):
        j = int(np.searchsorted(t, t[i] + duration_s - 1e-9))
        if j >= len(t) or not finite[i:j + 1].all():
            continue
        low = float(np.min(x[i:j + 1]))
        if not best >= low:
            best, at = low, int(i)
    return best, at


def _signal(draw_values, n, nan_share, seed):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.01, 0.06, n))  # variable frame spacing
    x = np.asarray(draw_values, float)[:n]
    x[rng.random(n) < nan_share] = np.nan
    return t, x


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-90, 90), min_size=3, max_size=200), nan_share=st.sampled_from([0.0, 0.1, 0.5]),
       window_s=st.sampled_from([0.1, 0.3, 1.0]), seed=st.integers(0, 10))
def test_running_median_matches_the_loop(values, nan_share, window_s, seed):
    t, x = _signal(values, len(values), nan_share, seed)
    np.testing.assert_array_equal(running_median(t, x, window_s), _running_median_loop(t, x, window_s))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(-90, 90), min_size=1, max_size=200), nan_share=st.sampled_from([0.0, 0.1, 0.5]),
       duration_s=st.sampled_from([0.05, 0.2, 0.3, 2.0]), seed=st.integers(0, 10))
def test_sustained_max_matches_the_loop(values, nan_share, duration_s, seed):
    t, x = _signal(values, len(values), nan_share, seed)
    got, expected = sustained_max(t, x, duration_s), _sustained_max_loop(t, x, duration_s)
    assert got[1] == expected[1]
    np.testing.assert_array_equal(got[0], expected[0])


def _camera_cuts_loop(seq, max_jump_torso, window_s, min_share=0.5):
    import math

    from analyzer.filtering import true_runs
    from analyzer.types import Landmark as L

    xy = seq.xy.astype(np.float64)
    hip = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    shoulder = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    torso = np.hypot(*(shoulder - hip).T)
    seen = np.isfinite(hip[:, 0]) & np.isfinite(torso) & (torso > 0)
    t = seq.t
    lo = np.searchsorted(t, t - window_s, side="left")
    hi = np.searchsorted(t, t + window_s, side="left")
    need = max(2, int(math.ceil(min_share * window_s / float(np.median(np.diff(t))))))
    jumped = np.zeros(len(seq), bool)
    for i in np.flatnonzero(seen):
        before = np.arange(lo[i], i)[seen[lo[i]:i]]
        after = np.arange(i, hi[i])[seen[i:hi[i]]]
        if len(before) < need or len(after) < need:
            continue
        size = max(float(np.median(torso[before])), float(np.median(torso[after])))
        move = np.hypot(*(np.median(hip[after], axis=0) - np.median(hip[before], axis=0))) / size
        scale = size / min(float(np.median(torso[before])), float(np.median(torso[after])))
        jumped[i] = move > max_jump_torso or scale > 1 + max_jump_torso
    out = np.zeros(len(seq), bool)
    for start, stop in true_runs(jumped):
        out[(start + stop) // 2] = True
    return out


@settings(max_examples=30, deadline=None)
@given(cut_at=st.integers(20, 160), shift=st.floats(0, 600), glitch=st.integers(5, 170),
       gap=st.tuples(st.integers(0, 170), st.integers(0, 30)), scale=st.sampled_from([1.0, 2.5]))
def test_camera_cuts_match_the_loop(cut_at, shift, glitch, gap, scale):
    from analyzer.reps import camera_cuts
    from analyzer.types import PoseSequence
    from tests.factories import hinge_lifter_sequence

    t = np.arange(0, 6, 1 / 30)
    seq = hinge_lifter_sequence(t, np.full(len(t), 5.0))
    xy = seq.xy.astype(np.float64)
    xy[cut_at:] = (xy[cut_at:] - xy[cut_at, :1]) * scale + xy[cut_at, :1] + [shift, 0.0]
    xy[glitch] += [300.0, 0.0]
    xy[gap[0]:gap[0] + gap[1]] = np.nan
    moved = PoseSequence(xy=xy.astype(np.float32), z=seq.z, visibility=seq.visibility, world=seq.world, t=t,
                         frame_size=seq.frame_size)
    np.testing.assert_array_equal(camera_cuts(moved, 1.0, 0.3), _camera_cuts_loop(moved, 1.0, 0.3))
