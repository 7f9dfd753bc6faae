"""Clean landmark and angle signals: fill short gaps, then a zero-phase low-pass (pure numpy/scipy).

Signals are sampled at presentation timestamps, which phone clips space unevenly, so the filter runs
on a uniform grid and is interpolated back. Long gaps are never bridged: each run of samples between
long gaps is filtered on its own.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from analyzer.options import opt


@dataclass(frozen=True)
class FilterOptions:
    """Gap filling and smoothing of per-frame signals."""

    max_gap_s: float = opt(0.25, "longest run of missed frames filled by interpolation, seconds")
    cutoff_hz: float = opt(4.0, "low-pass cut-off for landmark tracks, Hz")
    filter_order: int = opt(2, "Butterworth filter order (applied forward and backward)")
    facing_window_s: float = opt(0.5, "facing is the majority over this window: a lifter turns around in no "
                                      "less, while a tipped-back head can flip the cues for a frame or two")


def window_rows(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frame windows [lo[i], hi[i]) as rows of one index matrix, for vectorised reductions per window.

    Returns ``(index, inside)``, both (T, W) with W the widest window: ``index`` clipped to valid frames,
    ``inside`` False where a row runs past its window. ``x[index]`` with ``inside`` as a mask (NaN outside)
    gives each frame's window in one array, so medians and minima over windows need no Python loop.
    """
    lo = np.asarray(lo, np.int64)
    hi = np.maximum(np.asarray(hi, np.int64), lo)
    width = int((hi - lo).max()) if len(lo) else 0
    index = lo[:, None] + np.arange(max(width, 1))[None, :]
    inside = index < hi[:, None]
    return np.minimum(index, max(int(hi.max()) - 1, 0) if len(hi) else 0), inside


def window_median(values: np.ndarray, index: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Median of ``values`` (T, ...) over each row of ``window_rows``, ignoring NaN and frames outside
    (``inside`` False); NaN for a window with nothing in it. Trailing dimensions are kept: (T, 2) points
    give (T, 2) medians."""
    rows = np.asarray(values, np.float64)[index]
    mask = inside.reshape(inside.shape + (1,) * (rows.ndim - inside.ndim))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an empty window is NaN by design
        return np.nanmedian(np.where(mask, rows, np.nan), axis=1)


def majority_sign(t: np.ndarray, sign: np.ndarray, window_s: float) -> np.ndarray:
    """(T,) the majority of the +1/-1 values of ``sign`` within ``window_s`` centred on each frame.

    NaN frames do not vote and stay NaN; a tie keeps the frame's own value. Frames are counted, so the
    window spans ``window_s`` at the clip's median frame interval.
    """
    sign = np.asarray(sign, np.float64)
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    if not dt > 0 or window_s <= 0:
        return sign.copy()
    half = max(1, int(round(window_s / 2 / dt)))
    votes = np.concatenate([[0.0], np.cumsum(np.nan_to_num(sign))])
    idx = np.arange(len(sign))
    total = votes[np.minimum(idx + half + 1, len(sign))] - votes[np.maximum(idx - half, 0)]
    out = np.where(total > 0, 1.0, np.where(total < 0, -1.0, sign))
    out[np.isnan(sign)] = np.nan
    return out


def fill_gaps(t: np.ndarray, values: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate NaN runs no longer than ``max_gap_s``; longer runs stay NaN.

    Args:
        t: (T,) seconds, increasing.
        values: (T,) or (T, ...) signal; interpolation is per column.
    """
    out = np.array(values, dtype=np.float64, copy=True)
    flat = out.reshape(len(t), -1)
    for column in flat.T:
        missing = np.isnan(column)
        if not missing.any() or missing.all():
            continue
        known = ~missing
        filled = np.interp(t, t[known], column[known])
        # a gap is fillable when it has known samples on both sides no further apart than max_gap_s
        idx = np.arange(len(t))
        prev_known = np.maximum.accumulate(np.where(known, idx, -1))
        next_known = np.minimum.accumulate(np.where(known, idx, len(t))[::-1])[::-1]
        inside = missing & (prev_known >= 0) & (next_known < len(t))
        span = np.full(len(t), np.inf)
        span[inside] = t[next_known[inside]] - t[prev_known[inside]]
        fillable = inside & (span <= max_gap_s)
        column[fillable] = filled[fillable]
    return out.reshape(np.shape(values))


def true_runs(valid: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of consecutive True values."""
    edges = np.diff(np.concatenate([[0], valid.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def lowpass(t: np.ndarray, values: np.ndarray, cutoff_hz: float, order: int = 2) -> np.ndarray:
    """Zero-phase Butterworth low-pass of a (T,) signal sampled at times ``t``; NaNs stay NaN.

    Runs too short for the filter's padding are returned unfiltered.
    """
    from scipy.signal import butter, sosfiltfilt  # imported here: `hinge --help` should not load scipy

    out = np.array(values, dtype=np.float64, copy=True)
    for start, stop in true_runs(~np.isnan(out)):
        seg_t, seg = t[start:stop], out[start:stop]
        if stop - start < 4:
            continue
        dt = float(np.median(np.diff(seg_t)))
        if dt <= 0:
            continue
        fs = 1.0 / dt
        if cutoff_hz >= 0.45 * fs:
            continue
        grid = np.arange(seg_t[0], seg_t[-1] + dt / 2, dt)
        resampled = np.interp(grid, seg_t, seg)
        sos = butter(order, cutoff_hz, fs=fs, output="sos")
        padlen = min(len(grid) - 1, 3 * (2 * len(sos) + 1))
        if padlen < 1:
            continue
        smooth = sosfiltfilt(sos, resampled, padlen=padlen)
        out[start:stop] = np.interp(seg_t, grid, smooth)
    return out


def clean(t: np.ndarray, values: np.ndarray, options: FilterOptions = FilterOptions()) -> np.ndarray:
    """Fill short gaps, then low-pass each column. Shape is kept."""
    filled = fill_gaps(t, values, options.max_gap_s)
    flat = filled.reshape(len(t), -1)
    smoothed = np.stack([lowpass(t, c, options.cutoff_hz, options.filter_order) for c in flat.T], axis=1)
    return smoothed.reshape(np.shape(values))
