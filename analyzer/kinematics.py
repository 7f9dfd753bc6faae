"""Angles and distances per frame, vectorised over the whole sequence (pure numpy).

Image frame: x right, y down, pixels of the upright frame. All angles in degrees. ``facing`` is +1 where
the lifter faces image +x and -1 where they face -x (see ``view.facing_x``); "forward" below means toward
where the lifter faces and "back" the opposite way. Mid-points average the left and right landmarks (the
model swaps left/right labels in side views, the mid-points do not care).

- trunk inclination: the hip->shoulder segment (mid-hip to mid-shoulder) against vertical;
  0 = upright, 90 = horizontal, above 90 when the shoulders drop below the hips.
- trunk lean: the same angle signed by facing: positive leaning forward, negative leaning back past
  vertical (hyperextension at lockout).
- hip angle: interior angle knee-hip-shoulder on the near side; 180 = standing straight,
  smaller = more hip flexion.
- knee angle: interior angle hip-knee-ankle on the near side; 180 = straight leg.
- elbow angle: interior angle shoulder-elbow-wrist on the near side; 180 = straight arm (a bar held
  hanging at lockout), about 90 with a hand on the belt or the hips.
- hip share: hip flexion / (hip flexion + knee flexion), flexion = 180 - interior angle; 1 = all hip
  (a stiff-legged hinge), 0.5 = hip and knee bend equally (a squat). NaN while standing (no flexion).
- neck angle: head segment (mid-shoulder -> mid-ear) against the trunk line (mid-hip -> mid-shoulder);
  positive = extension (craning, the head tipped back toward the lifter's back), negative = flexion.
- head pitch: the face direction (mid-ear -> nose) against the trunk's forward normal; positive = chin
  up (extension). A second, independent view of the neck from the nose.
- thorax offset: horizontal offset of the thorax point (a third of the way from mid-shoulder to mid-hip)
  from the mid-hip, in trunk lengths, positive forward. Negative at lockout = ribs behind the pelvis.
- trunk length ratio: mid-shoulder to mid-hip distance against the lifter's standing value (median over
  the clip's most upright quarter of frames); below 1 when the trunk shortens (rounding or turning).
- back curvature: sagitta over chord of the back's outline (segmentation mask edge on the side away from
  where the lifter faces, rays cast from the mid-shoulder -> mid-hip line). Signed: positive = convex
  backward (rounded), negative = arched. NaN where facing is unknown or any ray gave no edge.
- bar drift: horizontal offset of the bar proxy (mid-wrist) from mid-foot (mid of heels and toes), in
  standing trunk lengths, positive forward of mid-foot.
- bar speed: vertical speed of the bar, positive upward. In m/s from the plate's centre when a plate was
  found at a consistent size (``analyzer.plates``: scale and motion at the plate's own depth); otherwise from
  the mid-wrist, in m/s when the lifter's height is given, else in body lengths per second (body length =
  the lifter's ankle-knee-hip-shoulder-ear chain). ``bar_speed_source`` says which, in words.
- hip height, knee height, bar height: mid-hip, mid-knee and the bar proxy (mid-wrist) above mid-ankle, in
  standing trunk lengths.
- shoulder width ratio: left-right shoulder distance in standing trunk lengths; near 0 in a true side view,
  about 0.5 at 45 degrees and 0.7-0.9 from the front (how far sagittal measures can be trusted).

The near side is the one whose hip, knee and ankle the model sees best over the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.filtering import FilterOptions, clean, majority_sign
from analyzer.plates import PlateTrack, bar_speed_m_per_s
from analyzer.types import Landmark, PoseSequence
from analyzer.view import facing_x

L = Landmark

# Anthropometry, not a rule: ear height above the ankle joint as a fraction of standing height
# (Winter, Biomechanics and Motor Control of Human Movement, 4th ed., segment-length table: ear ~0.92 H,
# ankle joint ~0.04 H). Used only to turn body lengths into metres when the lifter's height is given.
EAR_ABOVE_ANKLE_OF_HEIGHT = 0.88


def trunk_inclination_deg(shoulder: np.ndarray, hip: np.ndarray) -> np.ndarray:
    """(T,) trunk angle from vertical for (T, 2) shoulder and hip pixel positions."""
    d = shoulder - hip
    return np.degrees(np.arctan2(np.abs(d[:, 0]), -d[:, 1]))


def trunk_lean_deg(shoulder: np.ndarray, hip: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """(T,) signed trunk angle from vertical: positive leaning toward ``facing`` (+1/-1 in x), negative back."""
    d = shoulder - hip
    return np.degrees(np.arctan2(facing * d[:, 0], -d[:, 1]))


def interior_angle_deg(a: np.ndarray, vertex: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) angle a-vertex-b in [0, 180] for (T, 2) points."""
    u, v = a - vertex, b - vertex
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = np.sum(u * v, axis=1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def toward_back_deg(reference: np.ndarray, vector: np.ndarray, facing: np.ndarray) -> np.ndarray:
    """(T,) signed angle from ``reference`` to ``vector`` (both (T, 2)), positive rotating toward the back.

    In image coordinates (y down) rotating the upright direction (0, -1) by +90 deg gives (+1, 0), so a
    positive cross product turns toward +x; for a lifter facing +x that is forward.
    """
    cross = reference[:, 0] * vector[:, 1] - reference[:, 1] * vector[:, 0]
    dot = np.sum(reference * vector, axis=1)
    return -facing * np.degrees(np.arctan2(cross, dot))


def hip_share(hip_angle: np.ndarray, knee_angle: np.ndarray) -> np.ndarray:
    """(T,) hip flexion / (hip + knee flexion); NaN with no flexion at all."""
    hip_flex = 180.0 - hip_angle
    knee_flex = 180.0 - knee_angle
    total = hip_flex + knee_flex
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, hip_flex / total, np.nan)


def near_side(seq: PoseSequence) -> str:
    """'left' or 'right': the side whose hip, knee and ankle are more visible over the clip."""
    left = np.nanmean(seq.visibility[:, [L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE]])
    right = np.nanmean(seq.visibility[:, [L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE]])
    return "left" if np.nan_to_num(left) >= np.nan_to_num(right) else "right"


def fill_nearest(values: np.ndarray) -> np.ndarray:
    """(T,) NaNs replaced by the nearest earlier known value, else the nearest later one."""
    n = len(values)
    known = ~np.isnan(values)
    if not known.any():
        return values.astype(np.float64)
    idx = np.arange(n)
    prev = np.maximum.accumulate(np.where(known, idx, -1))
    nxt = np.minimum.accumulate(np.where(known, idx, n)[::-1])[::-1]
    pick = np.where(prev >= 0, prev, nxt)
    return values[pick].astype(np.float64)


def _mid(xy: np.ndarray, left: int, right: int) -> np.ndarray:
    return (xy[:, left] + xy[:, right]) / 2.0


def back_curvature(
    shoulder: np.ndarray, hip: np.ndarray, outline: np.ndarray, fractions: np.ndarray, facing: np.ndarray,
) -> np.ndarray:
    """(T,) sagitta / chord of the back outline; positive = rounded (convex backward).

    Args:
        shoulder, hip: (T, 2) the raw mid-shoulder and mid-hip the rays were cast from (pixels).
        outline: (T, 2, R) ray lengths (pixels); side 0 along the normal (-dy, dx) of shoulder->hip (dx, dy).
        fractions: (R,) ray origins along shoulder (0) -> hip (1).
        facing: (T,) +1/-1 (NaN unknown). Facing +x, side 0 is the back.

    The outline points are origin + distance * normal. In the frame of the joint line (along, across)
    they are (fraction * trunk length, distance); their chord joins the first and last ray, and the
    sagitta is the signed perpendicular distance of the point furthest from it (largest magnitude),
    positive on the side away from the joint line. Frames with any missing ray are NaN.
    """
    n_frames, _, n_rays = outline.shape
    out = np.full(n_frames, np.nan)
    if n_rays < 3 or n_frames == 0:
        return out
    length = np.hypot(*(hip - shoulder).T)
    back = np.where((facing > 0)[:, None], outline[:, 0, :], outline[:, 1, :]).astype(np.float64)
    back[np.isnan(facing)] = np.nan
    along = fractions[None, :].astype(np.float64) * length[:, None]  # (T, R)
    d_along = along[:, -1] - along[:, 0]
    d_across = back[:, -1] - back[:, 0]
    chord = np.hypot(d_along, d_across)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = ((back - back[:, :1]) * d_along[:, None] - (along - along[:, :1]) * d_across[:, None]) / chord[:, None]
        extreme = np.take_along_axis(dist, np.nanargmax(np.abs(np.nan_to_num(dist)), axis=1)[:, None], axis=1)[:, 0]
        ratio = extreme / chord
    ok = np.isfinite(back).all(axis=1) & (chord > 0) & np.isfinite(ratio)
    out[ok] = ratio[ok]
    return out


def area_jump(mask_area: np.ndarray) -> np.ndarray:
    """(T,) largest |log| change of the mask area to the previous or next frame; NaN without a mask."""
    with np.errstate(invalid="ignore", divide="ignore"):
        log_area = np.log(np.where(mask_area > 0, mask_area, np.nan).astype(np.float64))
    step = np.abs(np.diff(log_area))
    before = np.concatenate([[0.0], step])
    after = np.concatenate([step, [0.0]])
    jump = np.fmax(before, after)
    jump[np.isnan(log_area)] = np.nan
    return jump


def _standing_length(length: np.ndarray, inclination: np.ndarray) -> float:
    """Median trunk length over the most upright quarter of the frames where both are known."""
    ok = np.isfinite(length) & np.isfinite(inclination)
    if not ok.any():
        return float("nan")
    cut = np.quantile(inclination[ok], 0.25)
    return float(np.median(length[ok & (inclination <= cut)]))


@dataclass(frozen=True)
class Kinematics:
    """Per-frame measures, all (T,) float64 on ``t``; NaN where the lifter was not seen.

    Definitions and signs are in the module docstring. ``*_visibility`` fields are the model's
    visibility (0-1) of the landmarks a measure rests on, 0 where they fall outside the frame.
    """

    t: np.ndarray
    side: str
    trunk_inclination_deg: np.ndarray
    hip_angle_deg: np.ndarray
    knee_angle_deg: np.ndarray
    facing: np.ndarray | None = None
    trunk_lean_deg: np.ndarray | None = None
    hip_share: np.ndarray | None = None
    neck_angle_deg: np.ndarray | None = None
    head_pitch_deg: np.ndarray | None = None
    head_visibility: np.ndarray | None = None
    thorax_offset: np.ndarray | None = None
    trunk_length_ratio: np.ndarray | None = None
    hip_height: np.ndarray | None = None
    knee_height: np.ndarray | None = None
    bar_height: np.ndarray | None = None
    back_curvature: np.ndarray | None = None
    mask_area_jump: np.ndarray | None = None
    bar_drift: np.ndarray | None = None
    bar_speed: np.ndarray | None = None
    bar_visibility: np.ndarray | None = None
    shoulder_width_ratio: np.ndarray | None = None
    elbow_angle_deg: np.ndarray | None = None
    arm_visibility: np.ndarray | None = None
    bar_speed_unit: str = "body_lengths/s"
    bar_speed_source: str = ""


def _in_frame_visibility(seq: PoseSequence, index: list[int]) -> np.ndarray:
    """(T,) lowest visibility among ``index`` landmarks, 0 where any is missing or outside the frame."""
    pts = seq.xy[:, index].astype(np.float64)
    w, h = seq.frame_size
    inside = (pts[..., 0] >= 0) & (pts[..., 0] < w) & (pts[..., 1] >= 0) & (pts[..., 1] < h)
    vis = np.where(inside, seq.visibility[:, index], 0.0)
    return np.min(vis, axis=1).astype(np.float64)


def _bar_speed(
    t: np.ndarray, wrist: np.ndarray, body_px: float, height_m: float | None, plate: PlateTrack | None,
) -> tuple[np.ndarray, str, str]:
    """(T,) upward bar speed, its unit and where it came from in words: the plate's centre when its scale
    was accepted, else the mid-wrist scaled by the lifter's height (m/s) or by the body length."""
    if plate is not None and plate.accepted:
        return bar_speed_m_per_s(plate), "m/s", f"the plate's centre (the bar's axis): {plate.reason}"
    scale, unit = 1.0 / body_px, "body_lengths/s"
    source = "the wrists, in body lengths per second (the lifter's height gives m/s)"
    if height_m is not None:
        scale, unit = height_m * EAR_ABOVE_ANKLE_OF_HEIGHT / body_px, "m/s"
        source = f"the wrists, scaled by the lifter's height ({height_m:.2f} m)"
    if plate is not None:
        source += f"; no plate scale: {plate.reason}"
    speed = np.gradient(-wrist[:, 1] * scale, t) if len(t) > 1 else np.full(len(t), np.nan)
    return speed, unit, source


def measure(
    seq: PoseSequence, filters: FilterOptions = FilterOptions(), *, height_m: float | None = None,
    plate: PlateTrack | None = None,
) -> Kinematics:
    """Clean the landmarks and compute every per-frame measure.

    Args:
        seq: the lifter's landmarks (and outline rays, when masks were on).
        filters: gap filling and low-pass of the landmark tracks.
        height_m: the lifter's standing height in metres; when given, bar speed is in m/s.
        plate: the plate found in the frames (``analyzer.plates.track_plate``); when its scale was accepted,
            bar speed is the plate centre's, in m/s (preferred to ``height_m``: no anthropometric ratio and
            no perspective error).
    """
    xy = clean(seq.t, seq.xy, filters)
    side = near_side(seq)
    hip_i, knee_i, ankle_i, shoulder_i, elbow_i, wrist_i = (
        (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_SHOULDER, L.LEFT_ELBOW, L.LEFT_WRIST) if side == "left"
        else (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_SHOULDER, L.RIGHT_ELBOW, L.RIGHT_WRIST)
    )
    facing = fill_nearest(majority_sign(seq.t, facing_x(seq), filters.facing_window_s))
    shoulder = _mid(xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    hip = _mid(xy, L.LEFT_HIP, L.RIGHT_HIP)
    ear = _mid(xy, L.LEFT_EAR, L.RIGHT_EAR)
    ankle = _mid(xy, L.LEFT_ANKLE, L.RIGHT_ANKLE)
    knee = _mid(xy, L.LEFT_KNEE, L.RIGHT_KNEE)
    mid_foot = (_mid(xy, L.LEFT_HEEL, L.RIGHT_HEEL) + _mid(xy, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX)) / 2.0
    wrist = _mid(xy, L.LEFT_WRIST, L.RIGHT_WRIST)
    nose = xy[:, L.NOSE]

    trunk = shoulder - hip
    length = np.hypot(*trunk.T)
    inclination = trunk_inclination_deg(shoulder, hip)
    standing = _standing_length(length, inclination)
    hip_angle = interior_angle_deg(xy[:, knee_i], xy[:, hip_i], xy[:, shoulder_i])
    knee_angle = interior_angle_deg(xy[:, hip_i], xy[:, knee_i], xy[:, ankle_i])
    forward_normal = facing[:, None] * np.stack([-trunk[:, 1], trunk[:, 0]], axis=1)
    thorax = shoulder + (hip - shoulder) / 3.0

    chain = (np.hypot(*(knee - ankle).T) + np.hypot(*(hip - knee).T) + length + np.hypot(*(ear - shoulder).T))
    body_px = float(np.nanmedian(chain)) if np.isfinite(chain).any() else float("nan")
    speed, unit, source = _bar_speed(seq.t, wrist, body_px, height_m, plate)

    raw = seq.xy.astype(np.float64)
    raw_shoulder = _mid(raw, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    raw_hip = _mid(raw, L.LEFT_HIP, L.RIGHT_HIP)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Kinematics(
            t=seq.t,
            side=side,
            trunk_inclination_deg=inclination,
            hip_angle_deg=hip_angle,
            knee_angle_deg=knee_angle,
            facing=facing,
            trunk_lean_deg=trunk_lean_deg(shoulder, hip, facing),
            hip_share=hip_share(hip_angle, knee_angle),
            neck_angle_deg=toward_back_deg(trunk, ear - shoulder, facing),
            head_pitch_deg=toward_back_deg(forward_normal, nose - ear, facing),
            head_visibility=np.fmax(_in_frame_visibility(seq, [L.NOSE, L.LEFT_EAR]),
                                    _in_frame_visibility(seq, [L.NOSE, L.RIGHT_EAR])),
            thorax_offset=facing * (thorax[:, 0] - hip[:, 0]) / length,
            trunk_length_ratio=length / standing,
            hip_height=(ankle[:, 1] - hip[:, 1]) / standing,
            knee_height=(ankle[:, 1] - knee[:, 1]) / standing,
            bar_height=(ankle[:, 1] - wrist[:, 1]) / standing,
            back_curvature=back_curvature(raw_shoulder, raw_hip, seq.outline, seq.outline_fractions, facing),
            mask_area_jump=area_jump(seq.mask_area),
            bar_drift=facing * (wrist[:, 0] - mid_foot[:, 0]) / standing,
            bar_speed=speed,
            bar_visibility=np.fmax(_in_frame_visibility(seq, [L.LEFT_WRIST]),
                                   _in_frame_visibility(seq, [L.RIGHT_WRIST])),
            shoulder_width_ratio=np.hypot(*(xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER]).T) / standing,
            elbow_angle_deg=interior_angle_deg(xy[:, shoulder_i], xy[:, elbow_i], xy[:, wrist_i]),
            arm_visibility=_in_frame_visibility(seq, [shoulder_i, elbow_i, wrist_i]),
            bar_speed_unit=unit,
            bar_speed_source=source,
        )


def tilt_deg(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """(T,) angle of the left->right line against horizontal in the image, in (-90, 90]; + = left side lower."""
    d = right - left
    return np.degrees(np.arctan2(-d[:, 1], np.abs(d[:, 0])))


def frontal_metrics(seq: PoseSequence) -> dict[str, float]:
    """Frontal-plane symmetry for front and rear views: hips and shoulders level (degrees).

    Medians and 95th percentiles of the absolute tilt over frames with the lifter; meaningful only when
    the camera faces the lifter (in a side view both lines collapse to a point).
    """
    hips = np.abs(tilt_deg(seq.xy[:, L.LEFT_HIP], seq.xy[:, L.RIGHT_HIP]))
    shoulders = np.abs(tilt_deg(seq.xy[:, L.LEFT_SHOULDER], seq.xy[:, L.RIGHT_SHOULDER]))
    out = {}
    for name, values in (("hip_tilt", hips), ("shoulder_tilt", shoulders)):
        finite = values[np.isfinite(values)]
        out[f"{name}_median_deg"] = float(np.median(finite)) if len(finite) else float("nan")
        out[f"{name}_p95_deg"] = float(np.percentile(finite, 95)) if len(finite) else float("nan")
    return out
