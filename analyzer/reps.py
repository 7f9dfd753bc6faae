"""Segment a hinge signal into reps (pure numpy).

A rep is counted when the lifter reaches lockout from a hinged position: the driving signal (trunk
inclination for the hinges here) rises above ``hinged_min`` and then comes back below
``lockout_max``. The two thresholds form a hysteresis band, so jitter around either one cannot
add reps. A clip that starts hinged counts its first lockout; one that ends hinged does not count
the unfinished pull. Reps are never counted across a tracking gap longer than ``max_gap_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.filtering import fill_gaps

MIN_PARTIAL_HINGED_SAMPLES = 3


@dataclass(frozen=True)
class RepWindow:
    """Indices into the signal and their times (seconds) for one rep.

    start: the lifter leaves lockout (or the clip/track starts, for a clip that begins hinged);
    bottom: deepest point; lockout: back within the lockout band; end: last moment still locked out
    before the next descent (or the end of the track).
    """

    start: int
    bottom: int
    lockout: int
    end: int
    start_s: float
    bottom_s: float
    lockout_s: float
    end_s: float


@dataclass(frozen=True)
class RepThresholds:
    hinged_min_deg: float
    lockout_max_deg: float
    min_rep_s: float
    max_gap_s: float


def _runs(valid: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _segment_run(t: np.ndarray, x: np.ndarray, offset: int, th: RepThresholds) -> list[RepWindow]:
    reps: list[RepWindow] = []
    n = len(x)
    locked = x <= th.lockout_max_deg
    hinged = x >= th.hinged_min_deg
    i = 0
    while i < n:
        hinged_at = np.flatnonzero(hinged[i:])
        if not len(hinged_at):
            break
        h = i + int(hinged_at[0])
        back = np.flatnonzero(locked[h:])
        if not len(back):
            break  # ends hinged: the unfinished pull is not a rep
        lock = h + int(back[0])
        before = np.flatnonzero(locked[i:h])
        start = i + int(before[-1]) if len(before) else i
        bottom = start + int(np.argmax(x[start:lock + 1]))
        after = np.flatnonzero(~locked[lock:])
        end = lock + int(after[0]) - 1 if len(after) else n - 1
        # A track that starts hinged shows only part of its first rep, so the duration test that
        # screens out glitches cannot apply; a few hinged samples must still be seen.
        partial = start == 0 and not locked[0]
        long_enough = t[lock] - t[start] >= th.min_rep_s
        if long_enough or (partial and int(hinged[:lock].sum()) >= MIN_PARTIAL_HINGED_SAMPLES):
            idx = (start, bottom, lock, end)
            reps.append(RepWindow(*(offset + k for k in idx), *(float(t[k]) for k in idx)))
        i = end  # the next rep starts where this one's lockout ends
    return reps


def segment_reps(t: np.ndarray, signal: np.ndarray, thresholds: RepThresholds) -> list[RepWindow]:
    """Reps in a (T,) driving signal in degrees sampled at (T,) times.

    NaN gaps up to ``max_gap_s`` are bridged by interpolation; longer gaps split the signal and no
    rep spans them.
    """
    x = fill_gaps(t, signal, thresholds.max_gap_s)
    reps: list[RepWindow] = []
    for start, stop in _runs(~np.isnan(x)):
        reps.extend(_segment_run(t[start:stop], x[start:stop], int(start), thresholds))
    return reps
