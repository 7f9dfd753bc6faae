"""The barbell's plate in the frames: the bar's own path and a metric scale (OpenCV circle fit, numpy).

A standard plate is 450 mm across (``models/plates.toml``). Filmed from the side, the plate nearest the
camera is a circle centred on the bar's axis, so its radius in pixels gives metres per pixel *at the
plate's depth*, and its centre moves with the bar. The centre's vertical speed times that scale is the
bar's speed in m/s with no perspective error: scale and motion are measured at the same depth. (The
wrists, 0.4-0.5 m further from the camera than the near plate, would need the camera distance to use the
plate's scale.)

Each frame is searched near the lifter's wrists, in a window rescaled so the trunk has a fixed length in
pixels, for the most circular circle of a plate's size (OpenCV's HOUGH_GRADIENT_ALT). Over the clip the
plate's radius cannot change: circles off the median radius are dropped, and the scale is accepted only
when the plate was found on enough frames with a tight spread of radii. From the front or at 45 degrees
the plate is an ellipse, and with kettlebells or dumbbells there is none: the scale is then refused with
the reason, and speeds stay in body lengths per second.

``find_plate`` and ``accept_track`` are pure; ``track_plate`` iterates decoded frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.filtering import fill_gaps, lowpass, window_median, window_rows
from analyzer.rules import ThresholdTable, load_table, parse_table
from analyzer.types import Landmark, PoseSequence
from analyzer.video import Frame

L = Landmark


@dataclass(frozen=True)
class PlateThresholds:
    """See ``models/plates.toml`` for each value's unit and reason."""

    diameter_m: float
    min_radius_trunk: float
    max_radius_trunk: float
    max_offset_trunk: float
    search_trunk: float
    work_trunk_px: float
    blur_sigma_px: float
    edge_threshold: float
    accumulator_step: float
    circularity: float
    radius_tolerance: float
    outlier_window_s: float
    max_jump_radius: float
    max_speed_m_per_s: float
    min_ascent_coverage: float
    min_found_share: float
    max_radius_spread: float
    max_gap_s: float
    cutoff_hz: float
    table_sha256: str = ""


def thresholds_from_table(table: ThresholdTable) -> PlateThresholds:
    values = {name.removeprefix("plates."): t.value for name, t in table.thresholds.items()}
    return PlateThresholds(**values, table_sha256=table.sha256)


@lru_cache(maxsize=1)
def default_thresholds() -> PlateThresholds:
    """The packaged ``models/plates.toml``."""
    return thresholds_from_table(load_table("plates"))


def load_thresholds(path: Path | None = None) -> PlateThresholds:
    """Plate thresholds from ``path`` or the packaged table."""
    if path is None:
        return default_thresholds()
    return thresholds_from_table(parse_table(Path(path).read_text(), str(path)))


@dataclass(frozen=True)
class PlateTrack:
    """The near plate, frame by frame, on the pose sequence's timestamps.

    centre: (T, 2) px and radius: (T,) px in full-frame pixels, NaN where no consistent plate was found;
    searched: (T,) bool, frames where a search was made (the wrists were seen). metres_per_px: the scale at
    the plate's depth, NaN when refused; reason: why it was accepted or refused, in plain words.
    found_centre, found_radius: every circle the search returned, before the checks (what a cache keeps:
    ``accept_track`` on them gives this track back).
    """

    t: np.ndarray
    centre: np.ndarray
    radius: np.ndarray
    searched: np.ndarray
    metres_per_px: float
    reason: str
    found_centre: np.ndarray
    found_radius: np.ndarray

    @property
    def found_share(self) -> float:
        n = int(self.searched.sum())
        return float(np.isfinite(self.radius[self.searched]).sum() / n) if n else 0.0

    @property
    def accepted(self) -> bool:
        return math.isfinite(self.metres_per_px)

    def summary(self) -> dict[str, Any]:
        """What the report says about the scale."""
        finite = self.radius[np.isfinite(self.radius)]
        return {
            "accepted": self.accepted, "reason": self.reason,
            "metres_per_px": self.metres_per_px if self.accepted else None,
            "radius_px": float(np.median(finite)) if len(finite) else None,
            "frames_searched": int(self.searched.sum()), "found_share": round(self.found_share, 3),
        }


def find_plate(
    gray: np.ndarray, wrist_xy: np.ndarray, trunk_px: float, th: PlateThresholds,
) -> tuple[float, float, float] | None:
    """The plate circle (x, y, radius) in ``gray``'s pixels near ``wrist_xy``, or None.

    ``gray`` is one frame (uint8, H x W); ``trunk_px`` the lifter's standing trunk length in its pixels.
    The window around the wrists is rescaled to ``work_trunk_px`` per trunk length, smoothed and searched
    for circles of a plate's radius; the most circular one whose centre lies within ``max_offset_trunk``
    of the wrists wins.
    """
    import cv2  # heavy import at the edge

    if not (np.isfinite(wrist_xy).all() and trunk_px > 0):
        return None
    reach = th.search_trunk * trunk_px
    height, width = gray.shape[:2]
    x0, y0 = max(int(wrist_xy[0] - reach), 0), max(int(wrist_xy[1] - reach), 0)
    x1, y1 = min(int(wrist_xy[0] + reach), width), min(int(wrist_xy[1] + reach), height)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    k = th.work_trunk_px / trunk_px
    window = cv2.resize(gray[y0:y1, x0:x1], None, fx=k, fy=k,
                        interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    window = cv2.GaussianBlur(window, (0, 0), th.blur_sigma_px)
    circles = cv2.HoughCircles(
        window, cv2.HOUGH_GRADIENT_ALT, dp=th.accumulator_step, minDist=th.work_trunk_px * th.min_radius_trunk,
        param1=th.edge_threshold, param2=th.circularity,
        minRadius=int(th.min_radius_trunk * th.work_trunk_px), maxRadius=int(th.max_radius_trunk * th.work_trunk_px),
    )
    if circles is None:
        return None
    for cx, cy, r in circles[0]:  # strongest first
        x, y = x0 + float(cx) / k, y0 + float(cy) / k
        if math.hypot(x - wrist_xy[0], y - wrist_xy[1]) <= th.max_offset_trunk * trunk_px:
            return x, y, float(r) / k
    return None


def _jumps(t: np.ndarray, centre: np.ndarray, window_s: float) -> np.ndarray:
    """(T,) px distance of each centre from the median of the centres within ``window_s`` either side
    (itself included); NaN where unknown."""
    lo = np.searchsorted(t, t - window_s, side="left")
    hi = np.searchsorted(t, t + window_s, side="right")
    rows, inside = window_rows(lo, hi)
    inside &= np.isfinite(centre[rows, 0])
    local = window_median(centre, rows, inside)
    return np.hypot(*(centre - local).T)


def accept_track(
    t: np.ndarray, centre: np.ndarray, radius: np.ndarray, searched: np.ndarray, th: PlateThresholds,
) -> PlateTrack:
    """Keep the fixes at the plate's own size and decide whether the scale can be trusted.

    The scale is accepted when the circles found have a radius spread (MAD / median) of at most
    ``max_radius_spread`` and, once those more than ``radius_tolerance`` off the median are dropped (the hub,
    the far plate, clutter) and so are those more than ``max_jump_radius`` plate radii from the median centre
    of their neighbours within ``outlier_window_s`` (another circle for a frame or two), the rest cover
    ``min_found_share`` of the searched frames.
    """
    found_centre = np.array(centre, np.float64, copy=True)
    found_radius = np.array(radius, np.float64, copy=True)
    centre, radius = found_centre.copy(), found_radius.copy()
    searched = np.asarray(searched, bool)

    def track(scale: float, reason: str) -> PlateTrack:
        return PlateTrack(t, centre, radius, searched, scale, reason, found_centre, found_radius)

    n = int(searched.sum())
    finite = np.isfinite(radius)
    if not finite.any():
        reason = "no plate found near the hands" if n else "the hands were never seen, so no plate was searched for"
        return track(float("nan"), reason)
    # the spread is taken over every circle found (the median absolute deviation ignores a minority of hubs
    # and far plates); the ones off the median radius are then dropped
    median = float(np.median(radius[finite]))
    spread = float(np.median(np.abs(radius[finite] - median)) / median)
    with np.errstate(invalid="ignore"):
        off = np.abs(radius - median) > th.radius_tolerance * median
    centre[off] = np.nan
    radius[off] = np.nan
    # a fix away from its neighbours' median centre is another circle for a frame or two
    jumped = _jumps(t, centre, th.outlier_window_s) > th.max_jump_radius * median
    centre[jumped] = np.nan
    radius[jumped] = np.nan
    kept = radius[np.isfinite(radius)]
    share = len(kept) / n if n else 0.0
    plate_radius_px = float(np.median(kept)) if len(kept) else float("nan")
    if share < th.min_found_share:
        reason = (f"a plate-sized circle was found on only {share:.0%} of the {n} frames searched (at least "
                  f"{th.min_found_share:.0%} needed): the plate is hidden, seen edge-on or absent")
        return track(float("nan"), reason)
    if spread > th.max_radius_spread:
        reason = (f"the circles found vary in size by {spread:.1%} (at most {th.max_radius_spread:.0%}): "
                  "an oblique view or several round objects, not one plate seen from the side")
        return track(float("nan"), reason)
    scale = th.diameter_m / 2 / plate_radius_px
    reason = (f"a plate taken as {th.diameter_m * 1000:.0f} mm across (the standard size), radius "
              f"{plate_radius_px:.1f} px (spread {spread:.1%}), found on {share:.0%} of {n} frames")
    return track(scale, reason)


def standing_trunk_px(seq: PoseSequence) -> float:
    """The lifter's trunk (mid-shoulder to mid-hip) in full-frame pixels: the upper quartile over the clip,
    since hinging shortens it only outside a side view; NaN when never seen."""
    xy = seq.xy.astype(np.float64)
    shoulder = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    hip = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    length = np.hypot(*(shoulder - hip).T)
    return float(np.nanpercentile(length, 75)) if np.isfinite(length).any() else float("nan")


def track_plate(
    frames: Iterable[Frame], seq: PoseSequence, th: PlateThresholds | None = None, *,
    on_frame: Callable[[Frame], Any] | None = None,
) -> PlateTrack:
    """Search every frame that has a pose row with the wrists seen. ``frames`` carry the frame indices of
    ``seq``; their images may be RGB or brightness (``iter_frames(luma=True, only=seq.frame_index)`` decodes
    just those, at almost no cost beyond decoding) and may be scaled down (positions are scaled back to
    full-frame pixels)."""
    import cv2  # heavy import at the edge

    th = th or default_thresholds()
    n = len(seq)
    centre = np.full((n, 2), np.nan)
    radius = np.full(n, np.nan)
    searched = np.zeros(n, bool)
    xy = seq.xy.astype(np.float64)
    wrist = (xy[:, L.LEFT_WRIST] + xy[:, L.RIGHT_WRIST]) / 2
    trunk_px = standing_trunk_px(seq)
    row_of = {int(index): row for row, index in enumerate(seq.frame_index)}
    for frame in frames:
        row = row_of.get(frame.index)
        if on_frame is not None:
            on_frame(frame)
        if row is None or not np.isfinite(wrist[row]).all() or not math.isfinite(trunk_px):
            continue
        image = frame.image
        k = image.shape[1] / seq.frame_size[0]  # decoded pixels per full-frame pixel
        gray = image if image.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        searched[row] = True
        fix = find_plate(gray, wrist[row] * k, trunk_px * k, th)
        if fix is not None:
            centre[row] = (fix[0] / k, fix[1] / k)
            radius[row] = fix[2] / k
    return accept_track(seq.t, centre, radius, searched, th)


def bar_speed_m_per_s(track: PlateTrack, th: PlateThresholds | None = None) -> np.ndarray:
    """(T,) upward speed of the plate's centre (the bar's axis), m/s; NaN where it is unknown or the
    scale was refused. Gaps up to ``max_gap_s`` are interpolated unless the fixes on either side imply a
    speed past ``max_speed_m_per_s`` (two different circles: the two fixes are dropped and the path is not
    joined); the path is low-passed before differentiating."""
    th = th or default_thresholds()
    out = np.full(len(track.t), np.nan)
    if not track.accepted or len(track.t) < 3:
        return out
    rise = -track.centre[:, 1] * track.metres_per_px
    known = np.flatnonzero(np.isfinite(rise))
    if len(known) > 1:
        step = np.abs(np.diff(rise[known])) / np.diff(track.t[known])
        broken = np.flatnonzero(step > th.max_speed_m_per_s)
        rise[known[broken]] = np.nan
        rise[known[broken + 1]] = np.nan
    rise = fill_gaps(track.t, rise, th.max_gap_s)
    rise = lowpass(track.t, rise, th.cutoff_hz)
    known_now = np.isfinite(rise)
    speed = np.gradient(np.where(known_now, rise, 0.0), track.t)
    # a difference that reaches into an unknown frame is unknown too
    edge = ~known_now | ~np.concatenate([known_now[1:], [True]]) | ~np.concatenate([[True], known_now[:-1]])
    out[~edge] = speed[~edge]
    return out
