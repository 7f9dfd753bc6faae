"""Segment a hinge signal into reps (pure numpy).

A rep is counted when the lifter reaches lockout from a hinged position: the driving signal (trunk
inclination for the hinges here) rises above ``hinged_min`` and then comes back below
``lockout_max``. The two thresholds form a hysteresis band, so jitter around either one cannot
add reps. A clip that starts hinged counts its first lockout; one that ends hinged does not count
the unfinished pull. Reps are never counted across a tracking gap longer than ``max_gap_s`` nor
across a camera cut.

Before the band is applied the signal is cleaned of what no lifter can do: values beyond
``max_valid_deg`` (a pose flipped upside down) are dropped, and excursions shorter than half of
``despike_s`` (a pose that jumps for a few frames) are removed by a running median. A run of detections
shorter than ``min_track_s`` with no detection on either side is a pose found for an instant in the middle
of an occlusion (it lands on a plate, a shadow or another person) and is dropped.

A tracking gap is never interpolated blindly when it could hide a lockout: when the lifter is lost for at
most ``gap_lockout_max_s`` while the trunk is rising toward upright, and is found again no further away,
the trunk is extrapolated from both sides of the gap at the speeds seen there. If the two lines meet inside
the lockout band, the lifter could have stood up within the gap: the rep is counted and its lockout is
marked unseen (``RepWindow.lockout_seen``), so no lockout check is made on it. If they do not, the gap is
bridged by plain interpolation (up to ``max_gap_s``) or splits the signal, as before.

Driving signal: trunk inclination, hip->shoulder against vertical (0 upright, 90 horizontal). In 2D it is
foreshortened when the camera is not square to the lifter (at 45 degrees a 60 degree hinge reads about
50; from the front it hardly moves). The model's world landmarks (metres, hip-centred, y down) give the
same angle in 3D, independent of the view; ``trunk_signal`` uses it where the 2D angle is foreshortened.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from analyzer.filtering import fill_gaps, true_runs, window_median, window_rows
from analyzer.rules import RuleSet
from analyzer.types import Landmark, PoseSequence

L = Landmark


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
    lockout_seen: bool = True
    """False when the lockout fell in a tracking gap and was inferred from the motion on both sides."""


@dataclass(frozen=True)
class RepThresholds:
    """Rep segmentation settings; the optional ones default to "off" so old rule tables keep working.

    hinged_min_deg / lockout_max_deg: the hysteresis band on the driving signal, degrees.
    min_rep_s: shortest lockout-to-lockout excursion that is a rep, seconds.
    max_gap_s: longest tracking gap bridged by interpolation, seconds.
    despike_s: running-median window; excursions shorter than half of it are pose glitches (0 = off).
    max_valid_deg: driving-signal values above this are impossible poses and are dropped (inf = off).
    lockout_hip_flexion_max_deg: a frame below the hinged band whose hip flexion (180 - knee-hip-shoulder
        angle) is at most this also counts as locked out: the hips are open even where camera pitch makes
        the trunk read a little forward (-inf = off).
    lockout_elbow_min_deg: a frame is a lockout only while the near elbow is at least this straight: the
        bar hangs from straight arms at the top of a pull, and a lifter who stands up with a hand on the
        belt has set the bar down (-inf = off, for lifts that hold the load otherwise).
    elbow_min_visibility: the elbow test applies only where the near shoulder, elbow and wrist are seen
        (in frame) with at least this visibility; an arm hidden behind the body or the plates is a guess.
    min_lockout_s: a lockout must be held this long to finish a rep, also when the track ends there; a pose
        that flickers upright for a few frames in the middle of a hinge, or a clip that fades out the instant
        the lifter reaches the band, shows no lockout (0 = off).
    min_track_s: a run of detections shorter than this with gaps on both sides is dropped (0 = off).
    gap_lockout_max_s: longest tracking gap that may hide a lockout (0 = off).
    gap_edge_s: the trunk's level and speed on each side of a gap are fitted over this long, seconds.
    gap_ascent_fraction: share of the way back from the deepest point to the lockout band the trunk must
        have come when the lifter is lost, for the gap to hide a lockout.
    gap_max_jump_torso: the lifter's hips must be found again within this many trunk lengths of where they
        were lost for a gap lockout (a camera cut or another person is no lockout).
    """

    hinged_min_deg: float
    lockout_max_deg: float
    min_rep_s: float
    max_gap_s: float
    despike_s: float = 0.0
    max_valid_deg: float = math.inf
    lockout_hip_flexion_max_deg: float = -math.inf
    lockout_elbow_min_deg: float = -math.inf
    elbow_min_visibility: float = 0.5
    min_lockout_s: float = 0.0
    min_track_s: float = 0.0
    gap_lockout_max_s: float = 0.0
    gap_edge_s: float = 0.3
    gap_ascent_fraction: float = 1 / 3
    gap_max_jump_torso: float = math.inf


@dataclass(frozen=True)
class TrunkOptions:
    """When the view-independent 3D trunk angle replaces the 2D one.

    foreshortening_deg: the 3D angle exceeds the 2D one by at least this much (median over hinged frames).
    hinged_deg: frames whose 3D angle exceeds this are the hinged frames the median is taken over.
    """

    foreshortening_deg: float = math.inf
    hinged_deg: float = math.inf


def _optional(rules: RuleSet, name: str, default: float) -> float:
    return rules.value(name) if name in rules.thresholds else default


def thresholds_from_rules(rules: RuleSet) -> RepThresholds:
    """RepThresholds from a RuleSet's ``reps.*`` entries (optional entries fall back to "off")."""
    return RepThresholds(
        hinged_min_deg=rules.value("reps.hinged_min_deg"),
        lockout_max_deg=rules.value("reps.lockout_max_deg"),
        min_rep_s=rules.value("reps.min_rep_s"),
        max_gap_s=rules.value("reps.max_gap_s"),
        despike_s=_optional(rules, "reps.despike_s", 0.0),
        max_valid_deg=_optional(rules, "reps.max_valid_deg", math.inf),
        lockout_hip_flexion_max_deg=_optional(rules, "reps.lockout_hip_flexion_max_deg", -math.inf),
        lockout_elbow_min_deg=_optional(rules, "reps.lockout_elbow_min_deg", -math.inf),
        elbow_min_visibility=_optional(rules, "reps.elbow_min_visibility", 0.5),
        min_lockout_s=_optional(rules, "reps.min_lockout_s", 0.0),
        min_track_s=_optional(rules, "reps.min_track_s", 0.0),
        gap_lockout_max_s=_optional(rules, "reps.gap_lockout_max_s", 0.0),
        gap_edge_s=_optional(rules, "reps.gap_edge_s", 0.3),
        gap_ascent_fraction=_optional(rules, "reps.gap_ascent_fraction", 1 / 3),
        gap_max_jump_torso=_optional(rules, "reps.cut_jump_torso", math.inf),
    )


def trunk_options_from_rules(rules: RuleSet) -> TrunkOptions:
    """TrunkOptions from ``reps.world_trunk_*`` entries (absent: the 2D angle always drives)."""
    return TrunkOptions(
        foreshortening_deg=_optional(rules, "reps.world_trunk_foreshortening_deg", math.inf),
        hinged_deg=_optional(rules, "reps.world_trunk_hinged_deg", math.inf),
    )


def world_trunk_inclination_deg(seq: PoseSequence) -> np.ndarray:
    """(T,) 3D trunk angle from vertical, degrees, from the world landmarks (y down, metres).

    Mid-hip -> mid-shoulder against the world "up" (-y); 0 upright, 90 horizontal, whatever the view.
    NaN where the world landmarks are missing.
    """
    w = seq.world.astype(np.float64)
    d = (w[:, L.LEFT_SHOULDER] + w[:, L.RIGHT_SHOULDER]) / 2 - (w[:, L.LEFT_HIP] + w[:, L.RIGHT_HIP]) / 2
    horizontal = np.hypot(d[:, 0], d[:, 2])
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arctan2(horizontal, -d[:, 1]))


def trunk_signal(trunk_2d_deg: np.ndarray, trunk_3d_deg: np.ndarray, options: TrunkOptions) -> tuple[np.ndarray, str]:
    """The driving trunk signal and its name ('trunk_2d' or 'trunk_3d').

    The 2D angle is exact in a side view and foreshortened otherwise; when, over the hinged frames, the 3D
    angle reads more than ``options.foreshortening_deg`` above the 2D one, the camera is not square to the
    lifter and the 3D angle drives (with the 2D one filling frames where the world landmarks are missing).
    """
    hinged = np.isfinite(trunk_2d_deg) & np.isfinite(trunk_3d_deg) & (trunk_3d_deg >= options.hinged_deg)
    if not hinged.any():
        return trunk_2d_deg, "trunk_2d"
    excess = float(np.median(trunk_3d_deg[hinged] - trunk_2d_deg[hinged]))
    if excess < options.foreshortening_deg:
        return trunk_2d_deg, "trunk_2d"
    return np.where(np.isfinite(trunk_3d_deg), trunk_3d_deg, trunk_2d_deg), "trunk_3d"


def camera_cuts(
    seq: PoseSequence, max_jump_torso: float, window_s: float, *, tracked: np.ndarray | None = None,
    min_share: float = 0.5,
) -> np.ndarray:
    """(T,) bool, True on the first frame of a new shot.

    A cut moves or rescales the lifter at once and for good: the median mid-hip position over the
    ``window_s`` after a frame sits more than ``max_jump_torso`` trunk lengths from the median over the
    ``window_s`` before it (or the trunk length changes by that fraction). Medians make a one-frame pose
    glitch, which jumps and comes back, no cut. Each window must hold at least ``min_share`` of the frames
    it spans (and two), so the odd glitched frame at the edge of a tracking gap is no shot of its own;
    ``tracked`` (T,) bool limits the frames used (default: every frame with a pose).
    """
    xy = seq.xy.astype(np.float64)
    hip = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    shoulder = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    torso = np.hypot(*(shoulder - hip).T)
    seen = np.isfinite(hip[:, 0]) & np.isfinite(torso) & (torso > 0)
    if tracked is not None:
        seen &= np.asarray(tracked, bool)
    t = seq.t
    lo = np.searchsorted(t, t - window_s, side="left")
    hi = np.searchsorted(t, t + window_s, side="left")
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    need = max(2, int(math.ceil(min_share * window_s / dt))) if dt > 0 else 2
    frames = np.arange(len(seq))
    before, in_before = window_rows(lo, frames)  # [lo, i)
    after, in_after = window_rows(frames, hi)  # [i, hi)
    in_before &= seen[before]
    in_after &= seen[after]
    enough = seen & (in_before.sum(axis=1) >= need) & (in_after.sum(axis=1) >= need)
    torso_before, torso_after = window_median(torso, before, in_before), window_median(torso, after, in_after)
    hip_before, hip_after = window_median(hip, before, in_before), window_median(hip, after, in_after)
    with np.errstate(invalid="ignore", divide="ignore"):
        size = np.fmax(torso_before, torso_after)
        move = np.hypot(*(hip_after - hip_before).T) / size
        scale = size / np.fmin(torso_before, torso_after)
        jumped = enough & ((move > max_jump_torso) | (scale > 1 + max_jump_torso))
    # one cut per run of flagged frames: the frame where the change is centred
    out = np.zeros(len(seq), bool)
    for start, stop in true_runs(jumped):
        out[(start + stop) // 2] = True
    return out


def running_median(t: np.ndarray, x: np.ndarray, window_s: float) -> np.ndarray:
    """Centred running median over ``window_s`` seconds, ignoring NaN; NaN samples stay NaN."""
    if window_s <= 0 or len(x) < 3:
        return x.copy()
    lo = np.searchsorted(t, t - window_s / 2, side="left")
    hi = np.searchsorted(t, t + window_s / 2, side="right")
    out = window_median(x, *window_rows(lo, hi))
    out[~np.isfinite(x)] = np.nan
    return out


def _held_lockout(t: np.ndarray, locked: np.ndarray, h: int, min_lockout_s: float) -> int:
    """First index from ``h`` on that starts a lockout held ``min_lockout_s``; -1 if none.

    A lockout cut short by the end of the track counts when it lasted one frame interval less than the
    minimum (the last frame's own duration is not in ``t``).
    """
    dt = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
    for start, stop in true_runs(locked[h:]):
        a, b = h + int(start), h + int(stop)
        held = t[b - 1] - t[a]
        if held >= min_lockout_s or (b == len(locked) and held + dt >= min_lockout_s):
            return a
    return -1


def _segment_run(
    t: np.ndarray, x: np.ndarray, hip_flexion: np.ndarray, offset: int, th: RepThresholds,
    inferred: np.ndarray, leaning_back: np.ndarray, arms_bent: np.ndarray,
) -> list[RepWindow]:
    reps: list[RepWindow] = []
    n = len(x)
    with np.errstate(invalid="ignore"):
        open_hips = (hip_flexion <= th.lockout_hip_flexion_max_deg) & (x < th.hinged_min_deg)
    # leaning back past the band is a lockout too, a hyperextended one (the hyperextension check reads it),
    # and never a hinge, however far
    locked = ((x <= th.lockout_max_deg) | open_hips | leaning_back) & ~arms_bent
    hinged = (x >= th.hinged_min_deg) & ~leaning_back
    i = 0
    while i < n:
        hinged_at = np.flatnonzero(hinged[i:])
        if not len(hinged_at):
            break
        h = i + int(hinged_at[0])
        lock = _held_lockout(t, locked, h, th.min_lockout_s)
        if lock < 0:
            break  # ends hinged: the unfinished pull is not a rep
        before = np.flatnonzero(locked[i:h])
        start = i + int(before[-1]) if len(before) else i
        bottom = start + int(np.argmax(x[start:lock + 1]))
        after = np.flatnonzero(~locked[lock:])
        end = lock + int(after[0]) - 1 if len(after) else n - 1
        # A track that starts hinged shows only part of its first rep: half the shortest rep must still be
        # seen (a glimpse of the last instant of an ascent can't be told from a glitch).
        partial = start == 0 and not locked[0]
        seen_s = t[lock] - t[start]
        if seen_s >= th.min_rep_s or (partial and seen_s >= th.min_rep_s / 2):
            idx = (start, bottom, lock, end)
            reps.append(RepWindow(*(offset + k for k in idx), *(float(t[k]) for k in idx),
                                  lockout_seen=not bool(inferred[lock])))
        i = end  # the next rep starts where this one's lockout ends
    return reps


def drop_islands(t: np.ndarray, tracked: np.ndarray, min_track_s: float) -> np.ndarray:
    """(T,) bool: ``tracked`` without the runs shorter than ``min_track_s`` (a run's last frame counts one
    frame interval). Such a run has a gap on each side: a pose found for an instant inside an occlusion."""
    out = np.asarray(tracked, bool).copy()
    if min_track_s <= 0 or len(t) < 2:
        return out
    dt = float(np.median(np.diff(t)))
    for a, b in true_runs(out):
        if t[b - 1] - t[a] + dt < min_track_s:
            out[a:b] = False
    return out


def _edge_line(t: np.ndarray, x: np.ndarray, idx: np.ndarray, at: float) -> tuple[float, float]:
    """Robust line through ``x[idx]`` (Theil-Sen: median pairwise slope, median intercept), so one glitched
    frame at a gap's edge does not tilt it: (value at time ``at``, slope deg/s); NaN with < 3 samples."""
    idx = idx[np.isfinite(x[idx])]
    if len(idx) < 3:
        return float("nan"), float("nan")
    tt, xx = t[idx] - at, x[idx]
    i, j = np.triu_indices(len(idx), k=1)
    dt = tt[j] - tt[i]
    if not (dt > 0).any():
        return float("nan"), float("nan")
    slope = float(np.median((xx[j] - xx[i])[dt > 0] / dt[dt > 0]))
    return float(np.median(xx - slope * tt)), slope


def bridge_gap_lockouts(
    t: np.ndarray, x: np.ndarray, th: RepThresholds, *, hip_xy: np.ndarray | None = None,
    torso_px: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the tracking gaps that hide a lockout; returns (signal, (T,) bool inferred-lockout frames).

    A gap of at most ``gap_lockout_max_s`` with samples on both sides hides a lockout when
    - the ascent was under way as the lifter was lost: the trunk's level over the last ``gap_edge_s`` is
      back at least ``gap_ascent_fraction`` of the way from the excursion's deepest point to the lockout
      band (a lifter still set up at the bottom, or lost mid-descent, is not);
    - the lifter is found again already in the lockout band, or descending (the trunk's line fitted over
      the first ``gap_edge_s`` rises), and that descent, run back at the speed seen, leaves the lockout band
      inside the gap;
    - an ascent line (the speed seen before the gap, or an even pace when none was seen) reaches the band
      before the descent line leaves it, so the two meet inside the band;
    - (with ``hip_xy`` (T, 2) px and ``torso_px`` (T,) px) the hips are found within ``gap_max_jump_torso``
      trunk lengths of where they were lost (not a camera cut or another person).
    The gap is filled with those two lines joined by a plateau at mid-band; the filled frames inside the
    lockout band are the inferred lockout. Other gaps are left NaN.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    inferred = np.zeros(len(t), bool)
    if th.gap_lockout_max_s <= 0:
        return out, inferred
    level = th.lockout_max_deg / 2
    locked_at = np.flatnonzero(x <= th.lockout_max_deg)
    for a, b in true_runs(np.isnan(out)):
        a, b = int(a), int(b)
        if a == 0 or b == len(t):
            continue
        tb, ta = float(t[a - 1]), float(t[b])
        if ta - tb > th.gap_lockout_max_s:
            continue
        before = np.arange(np.searchsorted(t, tb - th.gap_edge_s, side="left"), a)
        after = np.arange(b, np.searchsorted(t, ta + th.gap_edge_s, side="right"))
        xb, slope_b = _edge_line(t, x, before, tb)
        xa, slope_a = _edge_line(t, x, after, ta)
        if not (np.isfinite(xb) and np.isfinite(xa)):
            continue
        if not slope_b < 0:
            xb = float(np.nanmedian(x[before]))  # no ascent speed seen: the level is the plain median
        since = locked_at[locked_at < a]
        excursion = x[(int(since[-1]) if len(since) else 0):a]
        peak = float(np.nanmax(excursion)) if np.isfinite(excursion).any() else float("nan")
        if not (peak >= th.hinged_min_deg and peak - xb >= th.gap_ascent_fraction * (peak - th.lockout_max_deg)):
            continue
        if xa > th.lockout_max_deg and not slope_a > 0:
            continue
        if hip_xy is not None and torso_px is not None:
            size = np.nanmedian(torso_px[np.concatenate([before, after])])
            moved = np.hypot(*(np.nanmedian(hip_xy[after], axis=0) - np.nanmedian(hip_xy[before], axis=0)))
            if not moved <= th.gap_max_jump_torso * size:
                continue
        leave = ta - max(xa - level, 0.0) / slope_a if xa > level else ta
        reach = tb + (xb - level) / -slope_b if slope_b < 0 else (tb + leave) / 2
        if not tb < reach < leave:
            continue
        tg = t[a:b]
        out[a:b] = np.interp(tg, [tb, reach, leave, ta], [xb, level, level, xa])
        inferred[a:b] = out[a:b] <= th.lockout_max_deg
    return out, inferred


def clean_signal(t: np.ndarray, signal: np.ndarray, thresholds: RepThresholds) -> np.ndarray:
    """Drop impossible values, bridge short gaps, remove glitches shorter than half of ``despike_s``."""
    x = np.array(signal, dtype=np.float64, copy=True)
    x[~(x <= thresholds.max_valid_deg)] = np.nan
    x = fill_gaps(t, x, thresholds.max_gap_s)
    return running_median(t, x, thresholds.despike_s)


def segment_reps(
    t: np.ndarray, signal: np.ndarray, thresholds: RepThresholds, *, breaks: np.ndarray | None = None,
    hip_flexion_deg: np.ndarray | None = None, tracked: np.ndarray | None = None,
    hip_xy: np.ndarray | None = None, torso_px: np.ndarray | None = None, leaning_back: np.ndarray | None = None,
    elbow_deg: np.ndarray | None = None, arm_visibility: np.ndarray | None = None,
) -> list[RepWindow]:
    """Reps in a (T,) driving signal in degrees sampled at (T,) times.

    ``tracked`` (T,) bool marks frames where the lifter was really found (the signal elsewhere is
    interpolation): brief detections inside occlusions are dropped (``min_track_s``), and gaps that may
    hide a lockout are bridged first (``bridge_gap_lockouts``, with ``hip_xy``/``torso_px`` for the
    same-place test). Other NaN gaps up to ``max_gap_s`` are bridged by interpolation; longer gaps split
    the signal and no rep spans them. ``breaks`` (T,) bool marks frames that begin a new shot (camera
    cuts): the signal is split there too. ``hip_flexion_deg`` (T,) degrees, 0 = hips straight, feeds the
    second lockout test (see ``RepThresholds.lockout_hip_flexion_max_deg``). ``leaning_back`` (T,) bool
    marks frames where the trunk leans back past vertical (by facing) beyond the lockout band: they are
    lockouts, never hinges, so a hyperextended finish ends its rep where it starts. ``elbow_deg`` (T,)
    degrees, 180 = straight arm, feeds ``lockout_elbow_min_deg``: a frame with the arm bent past it is no
    lockout, where ``arm_visibility`` (T,) reaches ``elbow_min_visibility`` (no visibility given: every
    frame's arm counts as seen; NaN angle: no objection).
    """
    x = np.array(signal, dtype=np.float64, copy=True)
    x[~(x <= thresholds.max_valid_deg)] = np.nan
    if tracked is not None:
        x[~drop_islands(t, tracked, thresholds.min_track_s)] = np.nan
    x, inferred = bridge_gap_lockouts(t, x, thresholds, hip_xy=hip_xy, torso_px=torso_px)
    x = clean_signal(t, x, thresholds)
    hips = np.full(len(t), np.nan) if hip_flexion_deg is None else np.asarray(hip_flexion_deg, np.float64)
    back = np.zeros(len(t), bool) if leaning_back is None else np.asarray(leaning_back, bool)
    with np.errstate(invalid="ignore"):
        bent = (np.zeros(len(t), bool) if elbow_deg is None
                else np.asarray(elbow_deg, np.float64) < thresholds.lockout_elbow_min_deg)
        if arm_visibility is not None:
            bent &= np.asarray(arm_visibility, np.float64) >= thresholds.elbow_min_visibility
    valid = ~np.isnan(x)
    reps: list[RepWindow] = []
    cut_at = np.flatnonzero(breaks) if breaks is not None else np.zeros(0, int)
    for start, stop in true_runs(valid):
        bounds = [int(start), *(int(c) for c in cut_at if start < c < stop), int(stop)]
        for a, b in itertools.pairwise(bounds):
            reps.extend(_segment_run(t[a:b], x[a:b], hips[a:b], a, thresholds, inferred[a:b], back[a:b],
                                     bent[a:b]))
    return reps


@dataclass(frozen=True)
class RepCount:
    """Reps found in a clip, with the driving signal that found them.

    signal: (T,) degrees on the sequence's timestamps; signal_name: 'trunk_2d' or 'trunk_3d'.
    """

    windows: tuple[RepWindow, ...]
    signal: np.ndarray
    signal_name: str


def count_reps(
    seq: PoseSequence, trunk_2d_deg: np.ndarray, rules: RuleSet, hip_angle_deg: np.ndarray | None = None,
    trunk_lean_deg: np.ndarray | None = None, elbow_angle_deg: np.ndarray | None = None,
    arm_visibility: np.ndarray | None = None,
) -> RepCount:
    """Reps of one exercise: picks the driving signal, splits at camera cuts and segments.

    Args:
        seq: the pose sequence (its world landmarks give the 3D trunk angle, its hips the cuts).
        trunk_2d_deg: (T,) 2D trunk inclination from ``kinematics.measure`` (filtered), degrees.
        rules: the exercise's rule table (``reps.*``).
        hip_angle_deg: (T,) knee-hip-shoulder angle from ``kinematics.measure`` (180 = straight), optional.
        trunk_lean_deg: (T,) signed trunk lean from ``kinematics.measure`` (negative = leaning back), optional.
        elbow_angle_deg, arm_visibility: (T,) near elbow angle (180 = straight) and the near arm's visibility
            from ``kinematics.measure``, optional.
    """
    signal, name = trunk_signal(trunk_2d_deg, world_trunk_inclination_deg(seq), trunk_options_from_rules(rules))
    th = thresholds_from_rules(rules)
    tracked = drop_islands(seq.t, seq.detected, th.min_track_s)
    jump = _optional(rules, "reps.cut_jump_torso", math.inf)
    window = _optional(rules, "reps.cut_window_s", 0.0)
    breaks = camera_cuts(seq, jump, window, tracked=tracked) if math.isfinite(jump) and window > 0 else None
    flexion = None if hip_angle_deg is None else 180.0 - np.asarray(hip_angle_deg, np.float64)
    xy = seq.xy.astype(np.float64)
    hip = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    torso = np.hypot(*((xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2 - hip).T)
    with np.errstate(invalid="ignore"):
        back = None if trunk_lean_deg is None else np.asarray(trunk_lean_deg, np.float64) < -th.lockout_max_deg
    windows = segment_reps(seq.t, signal, th, breaks=breaks, hip_flexion_deg=flexion, tracked=tracked,
                           hip_xy=hip, torso_px=torso, leaning_back=back,
                           elbow_deg=elbow_angle_deg, arm_visibility=arm_visibility)
    return RepCount(tuple(windows), signal, name)
