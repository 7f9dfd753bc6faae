"""Camera view, facing direction and capture quality from a PoseSequence (pure numpy).

Definitions (seen from above, camera frame: x right, y down, z away from the camera):

- heading: the direction the lifter's chest faces, as a signed angle in degrees. 0 = facing the camera,
  +90 = facing image right (+x), -90 = facing image left, +-180 = back to the camera. It is the ground-plane
  normal of the body's left->right axis (right shoulder minus left shoulder, plus right hip minus left hip,
  from the world landmarks): forward = up x right, so a right axis ``r`` gives forward ``(-r_z, r_x)``.
- yaw: ``abs(heading)`` in [0, 180]; 0 front, 45 oblique, 90 side, 135 rear oblique, 180 rear.
  The view classes split the yaw halfway between these ideals (models/view.toml).
- facing: "left"/"right" (the image direction the lifter faces) for side and oblique views, taken from
  the label-free cues of :func:`facing_x`; "toward"/"away" (the camera) for front and rear views.
- near side: the body side closer to the camera. A lifter facing image right shows the camera their
  right side (forward x up points away from the camera for the left side), whatever the oblique angle.

Without world landmarks (all zero or NaN) the yaw falls back to the image: shoulder and hip widths over
torso length against their square-on ratios give ``cos(yaw)``, and the order of the labelled left and
right joints in x separates front from rear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from analyzer.rules import ThresholdTable, load_table
from analyzer.types import Landmark, PoseSequence

L = Landmark

VIEWS = ("front", "oblique", "side", "rear")
SAGITTAL_VIEWS = ("side",)
FILM_TIP = "Film from the side at hip height, 3-4 m away, whole body in frame."

_HEAD = (L.NOSE, L.LEFT_EYE, L.RIGHT_EYE, L.LEFT_EAR, L.RIGHT_EAR)
_FEET = (L.LEFT_ANKLE, L.RIGHT_ANKLE, L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)
_BODY = (*_HEAD, L.LEFT_SHOULDER, L.RIGHT_SHOULDER, L.LEFT_HIP, L.RIGHT_HIP, L.LEFT_KNEE, L.RIGHT_KNEE, *_FEET)
_KEY_PAIRS = (
    (L.LEFT_EAR, L.RIGHT_EAR), (L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP),
    (L.LEFT_KNEE, L.RIGHT_KNEE), (L.LEFT_ANKLE, L.RIGHT_ANKLE),
)


@lru_cache(maxsize=1)
def default_table() -> ThresholdTable:
    """The packaged ``models/view.toml``."""
    return load_table("view")


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ViewSegment:
    """One stretch of the clip seen from one view.

    ``start_s``/``end_s`` are clip seconds (end = time of the first frame after the segment);
    ``heading_deg`` is the segment's median heading (see the module docstring).
    """

    start_s: float
    end_s: float
    view: str
    facing: str
    confidence: float
    heading_deg: float

    def __post_init__(self) -> None:
        if self.view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, got {self.view!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")
        if self.end_s < self.start_s:
            raise ValueError(f"segment ends ({self.end_s}) before it starts ({self.start_s})")

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class CaptureQuality:
    """How well the clip was filmed: measured values, a verdict and what to change.

    ``person_height_frac`` is the lifter's standing span (nose/ears to heels/toes) over the frame height;
    above 1 means parts of the body are outside the frame. Shares are fractions in [0, 1].
    """

    verdict: str
    person_height_frac: float
    detected_share: float
    key_joints_visible_share: float
    fps: float
    head_out_share: float
    feet_out_share: float
    reasons: tuple[str, ...]
    tips: tuple[str, ...]


@dataclass(frozen=True)
class ViewReport:
    """Camera view per segment, the dominant view (by duration), near side and capture quality.

    ``view``/``facing``/``near_side`` are "unknown" when the lifter was never found.
    ``view_share`` is the dominant view's share of the time covered by segments.
    """

    segments: tuple[ViewSegment, ...]
    view: str
    facing: str
    near_side: str
    confidence: float
    view_share: float
    quality: CaptureQuality
    thresholds_id: str

    @property
    def sagittal(self) -> bool:
        """The dominant view lets sagittal-plane metrics (trunk angle, hinge depth) be judged."""
        return self.view in SAGITTAL_VIEWS


# ------------------------------------------------------------------------------------------- facing cue


def facing_x(seq: PoseSequence) -> np.ndarray:
    """(T,) +1 where the lifter faces image +x (right), -1 where they face left, NaN when unknown.

    Two cues that do not depend on left/right labels (which the model swaps in side views): the nose
    sits ahead of the ears, and the toes ahead of the heels. Each is scaled by the torso length so
    neither dominates; frames where they cancel out are unknown. Meaningful in side and oblique views
    only: in a front or rear view both cues are near zero and the sign is noise.
    """
    xy = seq.xy
    ears = (xy[:, L.LEFT_EAR, 0] + xy[:, L.RIGHT_EAR, 0]) / 2
    toes = (xy[:, L.LEFT_FOOT_INDEX, 0] + xy[:, L.RIGHT_FOOT_INDEX, 0]) / 2
    heels = (xy[:, L.LEFT_HEEL, 0] + xy[:, L.RIGHT_HEEL, 0]) / 2
    shoulders = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    hips = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    torso = np.hypot(*(shoulders - hips).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        head_cue = (xy[:, L.NOSE, 0] - ears) / torso
        foot_cue = (toes - heels) / torso
        score = np.nan_to_num(head_cue) + np.nan_to_num(foot_cue)
    out = np.sign(score).astype(np.float64)
    out[(score == 0) | ~np.isfinite(torso) | (np.isnan(head_cue) & np.isnan(foot_cue))] = np.nan
    return out


# ------------------------------------------------------------------------------------ per-frame heading


def _world_heading(seq: PoseSequence, min_horizontal: float) -> np.ndarray:
    """(T,) heading in degrees from the world landmarks; NaN where they are absent or degenerate."""
    w = seq.world.astype(np.float64)
    right = np.zeros((len(seq), 3))
    weight = np.zeros(len(seq))
    for left_i, right_i in ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), (L.LEFT_HIP, L.RIGHT_HIP)):
        v = w[:, right_i] - w[:, left_i]
        length = np.linalg.norm(v, axis=1)
        ok = np.isfinite(length) & (length > 1e-6)
        vis = np.minimum(seq.visibility[:, left_i], seq.visibility[:, right_i]).astype(np.float64)
        vis = np.maximum(vis, 1e-3)  # a seen-but-uncertain pair still votes, a little
        right[ok] += vis[ok, None] * v[ok] / length[ok, None]
        weight[ok] += vis[ok]
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = right / weight[:, None]
        horizontal = np.hypot(unit[:, 0], unit[:, 2]) / np.linalg.norm(unit, axis=1)
    heading = np.degrees(np.arctan2(-unit[:, 2], -unit[:, 0]))
    heading[~(horizontal >= min_horizontal)] = np.nan
    return heading


def _image_heading(seq: PoseSequence, table: ThresholdTable) -> np.ndarray:
    """(T,) heading in degrees from image widths (fallback when the world landmarks are absent)."""
    xy = seq.xy.astype(np.float64)
    shoulders = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2
    hips = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2
    torso = np.hypot(*(shoulders - hips).T)
    dx_sh = xy[:, L.RIGHT_SHOULDER, 0] - xy[:, L.LEFT_SHOULDER, 0]
    dx_hip = xy[:, L.RIGHT_HIP, 0] - xy[:, L.LEFT_HIP, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_yaw = 0.5 * (
            np.abs(dx_sh) / (torso * table.value("view.front_shoulder_width_ratio"))
            + np.abs(dx_hip) / (torso * table.value("view.front_hip_width_ratio"))
        )
    yaw = np.degrees(np.arccos(np.clip(cos_yaw, 0.0, 1.0)))
    # Facing the camera puts the right side on the image left (x_R < x_L); seen from behind, the reverse.
    yaw = np.where(dx_sh + dx_hip > 0, 180.0 - yaw, yaw)
    side = facing_x(seq)
    return np.where(np.isnan(side), 1.0, side) * yaw


def heading_deg(seq: PoseSequence, *, table: ThresholdTable | None = None) -> np.ndarray:
    """(T,) lifter heading per frame in degrees (module docstring); NaN where nobody was found.

    The yaw is a weighted mean of two estimates: the world landmarks' left->right axis and the image
    widths (``view.image_weight``); front/rear and the sign come from the world landmarks where present.
    Without world landmarks the image estimate is used alone.
    """
    table = table or default_table()
    world = _world_heading(seq, table.value("view.min_horizontal_frac"))
    image = _image_heading(seq, table)
    weight = table.value("view.image_weight")
    image_yaw = np.minimum(np.abs(image), 180.0 - np.abs(image))  # 0-90: widths can't tell front from rear
    image_yaw = np.where(np.abs(world) > 90.0, 180.0 - image_yaw, image_yaw)
    yaw = np.where(np.isfinite(image_yaw), (1.0 - weight) * np.abs(world) + weight * image_yaw, np.abs(world))
    out = np.where(np.isfinite(world), np.where(world < 0, -yaw, yaw), image)
    out[~seq.detected] = np.nan
    return out


def _smooth_heading(t: np.ndarray, heading: np.ndarray, window_s: float) -> np.ndarray:
    """Running median of the heading's unit vector over ``window_s`` (NaN-aware, circular-safe)."""
    n = len(t)
    if n < 3:
        return heading.copy()
    dt = float(np.median(np.diff(t)))
    half = max(1, int(round(window_s / dt / 2)))
    rad = np.radians(heading)
    out = []
    for comp in (np.cos(rad), np.sin(rad)):
        padded = np.pad(comp, half, constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
        with np.errstate(all="ignore"):
            valid = np.isfinite(windows).any(axis=1)
            med = np.full(n, np.nan)
            med[valid] = np.nanmedian(windows[valid], axis=1)
        out.append(med)
    smoothed = np.degrees(np.arctan2(out[1], out[0]))
    smoothed[np.isnan(heading)] = np.nan
    return smoothed


# ----------------------------------------------------------------------------------- classification


def _bounds(table: ThresholdTable) -> tuple[float, float, float, float]:
    return (
        table.value("view.front_max_deg"), table.value("view.side_min_deg"),
        table.value("view.side_max_deg"), table.value("view.rear_min_deg"),
    )


def classify_yaw(yaw: np.ndarray, *, table: ThresholdTable | None = None) -> np.ndarray:
    """(T,) view index into ``VIEWS`` for a yaw in [0, 180] degrees; -1 where the yaw is NaN."""
    front_max, side_min, side_max, rear_min = _bounds(table or default_table())
    yaw = np.asarray(yaw, np.float64)
    out = np.full(yaw.shape, VIEWS.index("oblique"), np.int64)
    out[yaw < front_max] = VIEWS.index("front")
    out[(yaw >= side_min) & (yaw <= side_max)] = VIEWS.index("side")
    out[yaw > rear_min] = VIEWS.index("rear")
    out[np.isnan(yaw)] = -1
    return out


def _classify_hysteresis(yaw: np.ndarray, table: ThresholdTable) -> np.ndarray:
    """Like :func:`classify_yaw`, but a frame keeps the previous view unless the yaw left it by a margin."""
    margin = table.value("view.hysteresis_deg")
    front_max, side_min, side_max, rear_min = _bounds(table)
    ranges = {
        VIEWS.index("front"): (-np.inf, front_max), VIEWS.index("oblique"): (front_max, side_min),
        VIEWS.index("side"): (side_min, side_max), VIEWS.index("rear"): (rear_min, np.inf),
    }
    raw = classify_yaw(yaw, table=table)
    out = raw.copy()
    previous = -1
    for i, (value, label) in enumerate(zip(yaw, raw, strict=True)):
        if label < 0:
            continue
        if previous >= 0 and label != previous:
            lo, hi = ranges[previous]
            if previous == VIEWS.index("oblique") and value > side_max:  # rear oblique
                lo, hi = side_max, rear_min
            if lo - margin <= value <= hi + margin:
                label = previous
        out[i] = label
        previous = label
    return out


def _runs(labels: np.ndarray, t: np.ndarray, max_gap_s: float) -> list[list[int]]:
    """Runs ``[start, stop, label]`` of equal labels over frames with a known view.

    Stretches without the lifter up to ``max_gap_s`` are bridged (the run continues across them); longer
    ones become a ``label = -1`` run, a block break that short runs are never absorbed across.
    """
    known = np.flatnonzero(labels >= 0)
    runs: list[list[int]] = []
    for k, i in enumerate(known):
        gap_break = k > 0 and t[i] - t[known[k - 1]] > max_gap_s
        if gap_break:
            runs.append([known[k - 1] + 1, i, -1])
        if runs and runs[-1][2] == labels[i] and not gap_break:
            runs[-1][1] = i + 1
        else:
            runs.append([i, i + 1, int(labels[i])])
    return runs


def _absorb_short(runs: list[list[int]], t_end: np.ndarray, t_start: np.ndarray, min_s: float) -> list[list[int]]:
    """Merge runs shorter than ``min_s`` into their longer neighbour inside the same block."""
    runs = [r[:] for r in runs]

    def duration(r: list[int]) -> float:
        return float(t_end[r[1] - 1] - t_start[r[0]])

    while True:
        candidates = [
            (duration(r), k) for k, r in enumerate(runs)
            if r[2] >= 0 and duration(r) < min_s
            and ((k > 0 and runs[k - 1][2] >= 0) or (k + 1 < len(runs) and runs[k + 1][2] >= 0))
        ]
        if not candidates:
            break
        _, k = min(candidates)
        neighbours = [j for j in (k - 1, k + 1) if 0 <= j < len(runs) and runs[j][2] >= 0]
        j = max(neighbours, key=lambda m: duration(runs[m]))
        lo, hi = min(k, j), max(k, j)
        runs[lo:hi + 1] = [[runs[lo][0], runs[hi][1], runs[j][2]]]
        # merge equal neighbours that now touch
        merged: list[list[int]] = []
        for r in runs:
            if merged and merged[-1][2] == r[2] and r[2] >= 0:
                merged[-1][1] = r[1]
            else:
                merged.append(r)
        runs = merged
    return runs


def _circular_median_deg(values: np.ndarray) -> float:
    rad = np.radians(values[np.isfinite(values)])
    if rad.size == 0:
        return float("nan")
    return float(np.degrees(np.arctan2(np.median(np.sin(rad)), np.median(np.cos(rad)))))


def _segment_facing(view: str, heading: float, facing: np.ndarray) -> str:
    if view == "front":
        return "toward"
    if view == "rear":
        return "away"
    score = float(np.nanmean(facing)) if np.isfinite(facing).any() else 0.0
    if score == 0.0:
        score = float(np.sign(heading)) if np.isfinite(heading) else 1.0
    return "right" if score > 0 else "left"


def _segment_confidence(view: str, yaw_median: float, raw: np.ndarray, detected: np.ndarray,
                        table: ThresholdTable) -> float:
    """Agreement of the raw per-frame views x margin from the nearest boundary x share of frames seen."""
    front_max, side_min, side_max, rear_min = _bounds(table)
    edges = {
        "front": (-np.inf, front_max), "side": (side_min, side_max), "rear": (rear_min, np.inf),
        "oblique": (front_max, side_min) if yaw_median <= 90 else (side_max, rear_min),
    }[view]
    margin = min(yaw_median - edges[0], edges[1] - yaw_median)
    margin_term = 0.5 + 0.5 * float(np.clip(margin / table.value("view.confidence_margin_deg"), 0.0, 1.0))
    known = raw >= 0
    agreement = float(np.mean(raw[known] == VIEWS.index(view))) if known.any() else 0.0
    return float(np.clip(agreement * margin_term * float(np.mean(detected)), 0.0, 1.0))


def view_segments(seq: PoseSequence, *, table: ThresholdTable | None = None) -> tuple[ViewSegment, ...]:
    """Split the clip into segments of one camera view each (smoothed, hysteresis, minimum length)."""
    table = table or default_table()
    n = len(seq)
    if n == 0 or not seq.detected.any():
        return ()
    heading = _smooth_heading(seq.t, heading_deg(seq, table=table), table.value("view.smooth_window_s"))
    yaw = np.abs(heading)
    labels = _classify_hysteresis(yaw, table)
    raw = classify_yaw(np.abs(heading_deg(seq, table=table)), table=table)
    dt = float(np.median(np.diff(seq.t))) if n > 1 else 0.0
    t_end = np.append(seq.t[1:], seq.t[-1] + dt)
    runs = _absorb_short(_runs(labels, seq.t, table.value("view.max_gap_s")), t_end, seq.t,
                         table.value("view.min_segment_s"))
    facing = facing_x(seq)
    # Re-label each run by its median yaw, then merge equal neighbours in the same block.
    relabelled: list[list[int]] = []
    for start, stop, label in runs:
        if label >= 0:
            label = int(classify_yaw(np.array([abs(_circular_median_deg(heading[start:stop]))]), table=table)[0])
        if relabelled and relabelled[-1][2] == label >= 0:
            relabelled[-1][1] = stop
        else:
            relabelled.append([start, stop, label])
    segments = []
    for start, stop, label in relabelled:
        if label < 0:
            continue
        view = VIEWS[label]
        median = _circular_median_deg(heading[start:stop])
        segments.append(ViewSegment(
            start_s=float(seq.t[start]), end_s=float(t_end[stop - 1]), view=view,
            facing=_segment_facing(view, median, facing[start:stop]),
            confidence=round(_segment_confidence(view, abs(median), raw[start:stop], seq.detected[start:stop],
                                                 table), 3),
            heading_deg=round(median, 1),
        ))
    return tuple(segments)


# ------------------------------------------------------------------------------------------- near side


def _depth_near_side(seq: PoseSequence) -> str:
    """'left'/'right' by the model's relative depth (smaller z = nearer), ties broken by visibility."""
    left = seq.z[:, [L.LEFT_SHOULDER, L.LEFT_HIP]].astype(np.float64)
    right = seq.z[:, [L.RIGHT_SHOULDER, L.RIGHT_HIP]].astype(np.float64)
    with np.errstate(all="ignore"):
        diff = float(np.nanmean(right - left)) if np.isfinite(right - left).any() else 0.0
    if diff == 0.0:  # no depth difference: the better-seen side is taken as nearer
        vis = seq.visibility
        diff = float(np.mean(vis[:, [L.LEFT_SHOULDER, L.LEFT_HIP]]) - np.mean(vis[:, [L.RIGHT_SHOULDER, L.RIGHT_HIP]]))
    return "right" if diff < 0 else "left"


def near_side(seq: PoseSequence, segments: Sequence[ViewSegment], view: str) -> str:
    """Body side nearer the camera over the dominant view's segments ("unknown" with no segments).

    Side and oblique: the side the lifter faces in the image (facing right shows the right side).
    Front and rear: the model's relative depth of the shoulders and hips.
    """
    chosen = [s for s in segments if s.view == view]
    if not chosen:
        return "unknown"
    if view in ("side", "oblique"):
        right = sum(s.duration_s for s in chosen if s.facing == "right")
        return "right" if right >= sum(s.duration_s for s in chosen) / 2 else "left"
    return _depth_near_side(seq)


# ---------------------------------------------------------------------------------------- capture quality


def _level(value: float, poor: float, good: float) -> int:
    """0 good, 1 usable, 2 poor for a measure where larger is better."""
    if not np.isfinite(value) or value < poor:
        return 2
    return 0 if value >= good else 1


def capture_quality(seq: PoseSequence, *, view: str = "side", view_share: float = 1.0,
                    table: ThresholdTable | None = None) -> CaptureQuality:
    """Capture-quality verdict ("good"/"usable"/"poor") with measured values, plain reasons and tips.

    The verdict is the worst of: person size, frames with the lifter, key joints seen, frame rate,
    head/feet inside the frame, and the view (a non-side view is usable, never poor: it still carries
    frontal-plane metrics).
    """
    table = table or default_table()
    q = lambda name: table.value(f"quality.{name}")  # noqa: E731
    n = len(seq)
    detected = seq.detected
    detected_share = float(detected.mean()) if n else 0.0
    _, height = seq.frame_size
    xy = seq.xy[detected].astype(np.float64)
    vis = seq.visibility[detected]
    if xy.shape[0]:
        body_y = xy[:, list(_BODY), 1]
        span = (np.nanmax(body_y, axis=1) - np.nanmin(body_y, axis=1)) / height
        person = float(np.nanpercentile(span, q("person_height_percentile")))
        head_y, feet_y = xy[:, list(_HEAD), 1], xy[:, list(_FEET), 1]
        head_out = float(np.mean(np.nanmin(head_y, axis=1) < 0))
        feet_out = float(np.mean(np.nanmax(feet_y, axis=1) > height))
        seen = np.stack([np.maximum(vis[:, a], vis[:, b]) for a, b in _KEY_PAIRS], axis=1)
        joints = float(np.mean(seen > q("visible_min")))
    else:
        person, head_out, feet_out, joints = float("nan"), 0.0, 0.0, 0.0
    fps = float(1.0 / np.median(np.diff(seq.t))) if n > 1 else float("nan")

    checks: list[tuple[int, str, str]] = []  # (level, reason, tip)
    level = _level(person, q("person_height_poor_frac"), q("person_height_good_frac"))
    if level:
        checks.append((level, f"The lifter spans only {person:.0%} of the frame height "
                              f"(aim for at least {q('person_height_good_frac'):.0%}).",
                       "Move the camera closer (3-4 m) so the lifter fills at least half the frame height."))
    level = _level(detected_share, q("detected_poor_share"), q("detected_good_share"))
    if level:
        checks.append((level, f"The lifter was found in only {detected_share:.0%} of the frames.",
                       "Keep the lifter in frame for the whole set, well lit, with nobody crossing in front."))
    level = _level(joints, q("joints_poor_share"), q("joints_good_share"))
    if level:
        checks.append((level, f"Key joints (ears, shoulders, hips, knees, ankles) were clearly seen in only "
                              f"{joints:.0%} of cases.",
                       "Wear fitted clothing, light the lifter from the camera side and keep plates, racks and "
                       "captions off the hips and knees."))
    level = _level(fps, q("fps_poor"), q("fps_good"))
    if level:
        checks.append((level, f"The frame rate is {fps:.0f} fps, too low to time fast phases.",
                       "Record at 30 fps or more."))
    out_share = max(head_out, feet_out)
    level = 2 if out_share >= q("out_of_frame_poor_share") else 1 if out_share > q("out_of_frame_usable_share") else 0
    if level:
        parts = [name for name, share in (("head", head_out), ("feet", feet_out))
                 if share > q("out_of_frame_usable_share")]
        checks.append((level, f"The lifter's {' and '.join(parts)} left the frame in {out_share:.0%} of the frames.",
                       "Keep the whole body in frame, with room above the head at lockout and below the feet."))
    if view not in SAGITTAL_VIEWS and view != "unknown":
        where = {"front": "from the front", "rear": "from behind", "oblique": "at an angle (about 45 degrees)"}[view]
        checks.append((1, f"The camera sees the lifter {where}: back angle and hinge depth can't be judged "
                          "reliably from this view (left/right balance can).", FILM_TIP))
    if view_share < q("view_share_usable"):
        checks.append((1, f"The camera view changes often (the main view holds only {view_share:.0%} of the clip).",
                       FILM_TIP))
    if not detected.any():
        checks.append((2, "Nobody was found in the clip.", FILM_TIP))
    worst = max((c[0] for c in checks), default=0)
    tips = tuple(dict.fromkeys(c[2] for c in sorted(checks, key=lambda c: -c[0])))
    return CaptureQuality(
        verdict=("good", "usable", "poor")[worst],
        person_height_frac=round(person, 3), detected_share=round(detected_share, 3),
        key_joints_visible_share=round(joints, 3), fps=round(fps, 2),
        head_out_share=round(head_out, 3), feet_out_share=round(feet_out, 3),
        reasons=tuple(c[1] for c in sorted(checks, key=lambda c: -c[0])), tips=tips,
    )


# ------------------------------------------------------------------------------------------- the stage


def analyze_view(seq: PoseSequence, *, table: ThresholdTable | None = None) -> ViewReport:
    """Camera view per segment, dominant view and facing, near side and a capture-quality verdict."""
    table = table or default_table()
    segments = view_segments(seq, table=table)
    totals = {v: sum(s.duration_s for s in segments if s.view == v) for v in VIEWS}
    covered = sum(totals.values())
    if not segments or covered <= 0:
        view, facing, confidence, share = "unknown", "unknown", 0.0, 0.0
    else:
        view = max(VIEWS, key=lambda v: totals[v])
        chosen = [s for s in segments if s.view == view]
        facing = max(chosen, key=lambda s: s.duration_s).facing
        confidence = sum(s.confidence * s.duration_s for s in chosen) / totals[view]
        share = totals[view] / covered
    return ViewReport(
        segments=segments, view=view, facing=facing, near_side=near_side(seq, segments, view),
        confidence=round(confidence, 3), view_share=round(share, 3),
        quality=capture_quality(seq, view=view, view_share=share, table=table),
        thresholds_id=table.id,
    )
