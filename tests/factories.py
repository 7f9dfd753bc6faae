"""Synthetic PoseSequences with known geometry (no model involved)."""

from __future__ import annotations

import numpy as np

from analyzer.types import N_LANDMARKS, Landmark, PoseSequence

L = Landmark


def side_view_sequence(
    trunk_deg: np.ndarray,
    t: np.ndarray,
    *,
    hip_xy: tuple[float, float] = (500.0, 400.0),
    trunk_len: float = 200.0,
    thigh_len: float = 180.0,
    shin_len: float = 170.0,
    knee_deg: np.ndarray | None = None,
    facing: int = 1,
    frame_size: tuple[int, int] = (960, 720),
) -> PoseSequence:
    """A lifter seen from the side whose trunk leans ``trunk_deg`` from vertical at each time.

    The shoulder is placed along the trunk direction (forward = ``facing`` in x); legs hang from the
    hip with the thigh vertical and the shin bent so the knee's interior angle is ``knee_deg``
    (180 when omitted). Left and right landmarks coincide (a pure side view).
    """
    n = len(t)
    trunk = np.radians(np.asarray(trunk_deg, float))
    xy = np.full((n, N_LANDMARKS, 2), np.nan, np.float32)
    hip = np.tile(np.asarray(hip_xy, float), (n, 1))
    shoulder = hip + trunk_len * np.stack([facing * np.sin(trunk), -np.cos(trunk)], axis=1)
    knee = hip + np.array([0.0, thigh_len])
    knee_angle = np.radians(np.full(n, 180.0) if knee_deg is None else np.asarray(knee_deg, float))
    # shin direction: rotate "straight down" backwards by (180 - knee angle)
    bend = np.pi - knee_angle
    ankle = knee + shin_len * np.stack([-facing * np.sin(bend), np.cos(bend)], axis=1)
    head = shoulder + 0.35 * trunk_len * np.stack([facing * np.sin(trunk), -np.cos(trunk)], axis=1)
    for pair, point in (
        ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), shoulder), ((L.LEFT_HIP, L.RIGHT_HIP), hip),
        ((L.LEFT_KNEE, L.RIGHT_KNEE), knee), ((L.LEFT_ANKLE, L.RIGHT_ANKLE), ankle),
        ((L.LEFT_EAR, L.RIGHT_EAR), head), ((L.NOSE, L.NOSE), head + np.array([facing * 20.0, 0.0])),
    ):
        for index in pair:
            xy[:, index] = point
    for index in range(N_LANDMARKS):
        if np.isnan(xy[0, index, 0]):
            xy[:, index] = hip  # unused joints sit at the hip so bounding boxes stay sane
    visibility = np.ones((n, N_LANDMARKS), np.float32)
    return PoseSequence(
        xy=xy, z=np.zeros((n, N_LANDMARKS), np.float32), visibility=visibility,
        world=np.zeros((n, N_LANDMARKS, 3), np.float32), t=t, frame_size=frame_size,
    )


def hinge_signal(
    t: np.ndarray, bottoms_s: list[float], *, depth_deg: float = 70.0, half_width_s: float = 1.0,
    standing_deg: float = 5.0,
) -> np.ndarray:
    """Trunk angle that dips to ``depth_deg`` around each bottom time (raised-cosine shaped)."""
    x = np.full_like(t, standing_deg, dtype=float)
    for b in bottoms_s:
        phase = np.clip((t - b) / half_width_s, -1, 1)
        x = np.maximum(x, standing_deg + (depth_deg - standing_deg) * 0.5 * (1 + np.cos(np.pi * phase)))
    return x


# Body-frame landmark positions of a standing adult, metres: (right, up, forward) with the feet at up = 0.
# Shoulder and hip widths over torso length are 0.8 and 0.5, the square-on ratios in models/view.toml.
_STANDING_BODY: dict[int, tuple[float, float, float]] = {
    L.NOSE: (0.0, 1.60, 0.10),
    L.LEFT_EYE_INNER: (-0.02, 1.64, 0.09), L.LEFT_EYE: (-0.035, 1.64, 0.085), L.LEFT_EYE_OUTER: (-0.05, 1.64, 0.08),
    L.RIGHT_EYE_INNER: (0.02, 1.64, 0.09), L.RIGHT_EYE: (0.035, 1.64, 0.085), L.RIGHT_EYE_OUTER: (0.05, 1.64, 0.08),
    L.LEFT_EAR: (-0.075, 1.62, 0.0), L.RIGHT_EAR: (0.075, 1.62, 0.0),
    L.MOUTH_LEFT: (-0.025, 1.56, 0.09), L.MOUTH_RIGHT: (0.025, 1.56, 0.09),
    L.LEFT_SHOULDER: (-0.20, 1.45, 0.0), L.RIGHT_SHOULDER: (0.20, 1.45, 0.0),
    L.LEFT_ELBOW: (-0.22, 1.15, 0.0), L.RIGHT_ELBOW: (0.22, 1.15, 0.0),
    L.LEFT_WRIST: (-0.22, 0.88, 0.05), L.RIGHT_WRIST: (0.22, 0.88, 0.05),
    L.LEFT_PINKY: (-0.23, 0.82, 0.05), L.RIGHT_PINKY: (0.23, 0.82, 0.05),
    L.LEFT_INDEX: (-0.21, 0.81, 0.07), L.RIGHT_INDEX: (0.21, 0.81, 0.07),
    L.LEFT_THUMB: (-0.20, 0.84, 0.08), L.RIGHT_THUMB: (0.20, 0.84, 0.08),
    L.LEFT_HIP: (-0.125, 0.95, 0.0), L.RIGHT_HIP: (0.125, 0.95, 0.0),
    L.LEFT_KNEE: (-0.11, 0.50, 0.02), L.RIGHT_KNEE: (0.11, 0.50, 0.02),
    L.LEFT_ANKLE: (-0.10, 0.08, 0.0), L.RIGHT_ANKLE: (0.10, 0.08, 0.0),
    L.LEFT_HEEL: (-0.10, 0.03, -0.06), L.RIGHT_HEEL: (0.10, 0.03, -0.06),
    L.LEFT_FOOT_INDEX: (-0.10, 0.0, 0.16), L.RIGHT_FOOT_INDEX: (0.10, 0.0, 0.16),
}
STANDING_SPAN_M = 1.64  # eyes to toes: the vertical span of _STANDING_BODY's landmarks


def turned_sequence(
    heading_deg: np.ndarray,
    t: np.ndarray,
    *,
    frame_size: tuple[int, int] = (1280, 720),
    px_per_m: float = 300.0,
    feet_y: float = 620.0,
    centre_x: float = 640.0,
    far_visibility: float = 1.0,
    with_world: bool = True,
) -> PoseSequence:
    """A standing lifter turned to ``heading_deg`` per frame, seen by a level orthographic camera.

    Heading (seen from above): 0 faces the camera, +90 faces image right (+x), -90 image left, 180 away.
    Forward in camera axes (x right, y down, z away) is (sin h, 0, -cos h); the right side is
    forward x up = (-cos h, 0, -sin h). ``world`` is hip-centred metres in camera axes (as MediaPipe's
    world landmarks); ``z`` is depth relative to the hips in pixel-like units (positive = farther);
    joints farther than the hips get ``far_visibility``. ``with_world=False`` leaves world at zero.
    """
    h = np.radians(np.asarray(heading_deg, float))
    n = len(t)
    forward = np.stack([np.sin(h), np.zeros(n), -np.cos(h)], axis=1)
    right = np.stack([-np.cos(h), np.zeros(n), -np.sin(h)], axis=1)
    up = np.array([0.0, -1.0, 0.0])
    cam = np.zeros((n, N_LANDMARKS, 3))
    for index, (r, u, f) in _STANDING_BODY.items():
        cam[:, index] = r * right + u * up + f * forward
    mid_hip = (cam[:, L.LEFT_HIP] + cam[:, L.RIGHT_HIP]) / 2
    world = cam - mid_hip[:, None, :]
    xy = np.stack([centre_x + px_per_m * cam[..., 0], feet_y + px_per_m * cam[..., 1]], axis=-1)
    z = world[..., 2] * px_per_m / frame_size[0]
    visibility = np.where(world[..., 2] > 1e-6, far_visibility, 1.0)
    return PoseSequence(
        xy=xy, z=z, visibility=visibility,
        world=world if with_world else np.zeros_like(world), t=t, frame_size=frame_size,
    )


def with_missing(seq: PoseSequence, start_s: float, stop_s: float) -> PoseSequence:
    """A copy of ``seq`` with nobody found in ``start_s <= t < stop_s`` (NaN rows, zero visibility)."""
    gone = (seq.t >= start_s) & (seq.t < stop_s)
    xy, z, world, visibility = seq.xy.copy(), seq.z.copy(), seq.world.copy(), seq.visibility.copy()
    xy[gone], z[gone], world[gone], visibility[gone] = np.nan, np.nan, np.nan, 0.0
    return PoseSequence(xy=xy, z=z, visibility=visibility, world=world, t=seq.t, frame_size=seq.frame_size)


def lifter_sequence(
    t: np.ndarray,
    *,
    trunk_deg: np.ndarray | float = 0.0,
    knee_deg: np.ndarray | float = 180.0,
    shin_deg: np.ndarray | float = 0.0,
    neck_ext_deg: np.ndarray | float = 0.0,
    bar_forward_px: np.ndarray | float = 0.0,
    wrist_height_px: np.ndarray | float | None = None,
    elbow_deg: np.ndarray | float = 180.0,
    facing: int = 1,
    ankle_xy: tuple[float, float] = (480.0, 620.0),
    trunk_len: float = 200.0,
    thigh_len: float = 180.0,
    shin_len: float = 170.0,
    neck_len: float = 60.0,
    arm_len: float = 230.0,
    frame_size: tuple[int, int] = (960, 720),
) -> PoseSequence:
    """A side-view lifter built up from a planted ankle, with every landmark the form checks use.

    ``shin_deg`` leans the shin forward (toward ``facing``) from vertical; ``knee_deg`` is the knee's
    interior angle; ``trunk_deg`` the signed trunk lean (negative leans back past vertical);
    ``neck_ext_deg`` tips the shoulder->ear segment back from the trunk line (extension), the nose sitting
    ahead of the ear at right angles to that segment. The wrists hang ``arm_len`` below the shoulders
    and ``bar_forward_px`` ahead of mid-foot (heel 20 px behind the ankle, toe 60 px ahead: mid-foot is
    20 px ahead), or ``wrist_height_px`` above the ankle when given (a bar resting on the floor). The elbow
    bends back from the shoulder-wrist line to the interior angle ``elbow_deg`` (equal upper arm and
    forearm). Left and right landmarks coincide. Expected hip angle: knee + shin - trunk (deg).
    """
    n = len(t)

    def col(v: np.ndarray | float) -> np.ndarray:
        return np.radians(np.broadcast_to(np.asarray(v, float), (n,)))

    def along(angle: np.ndarray) -> np.ndarray:  # unit vector at angle from up, forward positive
        return np.stack([facing * np.sin(angle), -np.cos(angle)], axis=1)

    shin, knee_a, trunk, neck = col(shin_deg), col(knee_deg), col(trunk_deg), col(neck_ext_deg)
    ankle = np.tile(np.asarray(ankle_xy, float), (n, 1))
    knee = ankle + shin_len * along(shin)
    hip = knee + thigh_len * along(shin - (np.pi - knee_a))
    shoulder = hip + trunk_len * along(trunk)
    ear = shoulder + neck_len * along(trunk - neck)
    nose = ear + 0.3 * neck_len * along(trunk - neck + np.pi / 2)
    heel, toe = ankle + np.array([-facing * 20.0, 10.0]), ankle + np.array([facing * 60.0, 10.0])
    wrist_y = (shoulder[:, 1] + arm_len if wrist_height_px is None
               else ankle[:, 1] - np.broadcast_to(np.asarray(wrist_height_px, float), (n,)))
    wrist = np.stack([ankle[:, 0] + facing * (20.0 + np.broadcast_to(bar_forward_px, (n,))), wrist_y], axis=1)
    reach = wrist - shoulder
    across = np.stack([reach[:, 1], -reach[:, 0]], axis=1) * -facing  # perpendicular, toward the back
    half = col(elbow_deg) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        elbow = (shoulder + wrist) / 2 + across / np.hypot(*reach.T)[:, None] * (
            np.hypot(*reach.T) / 2 / np.tan(half))[:, None]
    xy = np.full((n, N_LANDMARKS, 2), np.nan, np.float32)
    for pair, point in (
        ((L.LEFT_SHOULDER, L.RIGHT_SHOULDER), shoulder), ((L.LEFT_HIP, L.RIGHT_HIP), hip),
        ((L.LEFT_KNEE, L.RIGHT_KNEE), knee), ((L.LEFT_ANKLE, L.RIGHT_ANKLE), ankle),
        ((L.LEFT_EAR, L.RIGHT_EAR), ear), ((L.NOSE, L.NOSE), nose), ((L.LEFT_HEEL, L.RIGHT_HEEL), heel),
        ((L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX), toe), ((L.LEFT_WRIST, L.RIGHT_WRIST), wrist),
        ((L.LEFT_ELBOW, L.RIGHT_ELBOW), elbow),
    ):
        for index in pair:
            xy[:, index] = point
    for index in range(N_LANDMARKS):
        if np.isnan(xy[0, index, 0]):
            xy[:, index] = hip
    return PoseSequence(
        xy=xy, z=np.zeros((n, N_LANDMARKS), np.float32), visibility=np.ones((n, N_LANDMARKS), np.float32),
        world=np.zeros((n, N_LANDMARKS, 3), np.float32), t=t, frame_size=frame_size,
    )


def arc_profile(fractions: np.ndarray, sagitta_ratio: float, length: float, base_px: float) -> np.ndarray:
    """(R,) ray lengths whose tips, placed ``fractions * length`` along a line, lie on a circular arc.

    The arc joins the first and last tips (both ``base_px`` from the line) and bows away from the line
    by ``sagitta_ratio`` times its chord (negative bows toward the line), so the outline's sagitta over
    chord is exactly ``sagitta_ratio`` when the middle fraction is sampled.
    """
    a = fractions * length
    chord = a[-1] - a[0]
    h = abs(sagitta_ratio) * chord
    if h == 0:
        return np.full(len(a), base_px)
    radius = (h**2 + (chord / 2) ** 2) / (2 * h)
    mid = (a[0] + a[-1]) / 2
    bow = np.sqrt(radius**2 - (a - mid) ** 2) - (radius - h)
    return base_px + np.sign(sagitta_ratio) * bow


def with_back_outline(
    seq: PoseSequence,
    sagitta_ratio: np.ndarray | float,
    *,
    facing: int = 1,
    back_px: float = 60.0,
    front_px: float = 70.0,
    fractions: np.ndarray | None = None,
    mask_area: np.ndarray | None = None,
) -> PoseSequence:
    """``seq`` with outline rays whose back side bows by ``sagitta_ratio`` (per frame) over its chord.

    The back is side 0 for a lifter facing +x (side 0 runs along (-dy, dx) of shoulder->hip) and side 1
    otherwise; the front side is straight at ``front_px``.
    """
    fr = np.linspace(0.1, 0.9, 9) if fractions is None else np.asarray(fractions, float)
    n = len(seq)
    shoulder = (seq.xy[:, L.LEFT_SHOULDER] + seq.xy[:, L.RIGHT_SHOULDER]).astype(float) / 2
    hip = (seq.xy[:, L.LEFT_HIP] + seq.xy[:, L.RIGHT_HIP]).astype(float) / 2
    length = np.hypot(*(hip - shoulder).T)
    ratios = np.broadcast_to(np.asarray(sagitta_ratio, float), (n,))
    back = np.stack([arc_profile(fr, r, ln, back_px) for r, ln in zip(ratios, length, strict=True)])
    front = np.full((n, len(fr)), front_px)
    outline = np.stack([back, front] if facing > 0 else [front, back], axis=1)
    area = np.full(n, 0.1) if mask_area is None else mask_area
    return PoseSequence(
        xy=seq.xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=seq.t, frame_size=seq.frame_size,
        outline=outline, outline_fractions=fr, mask_area=area,
    )


def hinge_lifter_sequence(
    t: np.ndarray,
    trunk_deg: np.ndarray,
    *,
    knee_deg: np.ndarray | None = None,
    hands: str = "hang",
    arm_len: float = 250.0,
    swing_deg: np.ndarray | None = None,
    view_yaw_deg: float = 0.0,
    **kwargs: object,
) -> PoseSequence:
    """A side-view lifter (see ``side_view_sequence``) with wrists and world landmarks placed.

    hands: 'hang' (arms straight down from the shoulders, holding a bar), 'shoulders' (on the shoulders,
    bar on the back), 'swing' (arms at ``swing_deg`` forward from hanging straight down; 90 = horizontal).
    The feet stand on the floor below the hip. ``view_yaw_deg`` turns the camera about the vertical: the
    image x of every point relative to the hip shrinks by cos(yaw) (0 = pure side view, 45 = oblique),
    while the world landmarks (metres, hip-centred, y down) keep the true 3D geometry.
    """
    seq = side_view_sequence(trunk_deg, t, knee_deg=knee_deg, **kwargs)  # type: ignore[arg-type]
    xy = seq.xy.astype(np.float64).copy()
    shoulder = xy[:, L.LEFT_SHOULDER]
    if hands == "shoulders":
        wrist = shoulder.copy()
    else:
        angle = np.radians(np.zeros(len(t)) if swing_deg is None or hands == "hang" else np.asarray(swing_deg))
        facing = int(kwargs.get("facing", 1))  # type: ignore[call-overload]
        wrist = shoulder + arm_len * np.stack([facing * np.sin(angle), np.cos(angle)], axis=1)
    for index in (L.LEFT_WRIST, L.RIGHT_WRIST, L.LEFT_ELBOW, L.RIGHT_ELBOW):
        xy[:, index] = wrist if index in (L.LEFT_WRIST, L.RIGHT_WRIST) else (wrist + shoulder) / 2
    ankle = xy[:, L.LEFT_ANKLE]
    for index in (L.LEFT_HEEL, L.RIGHT_HEEL, L.LEFT_FOOT_INDEX, L.RIGHT_FOOT_INDEX):
        xy[:, index] = ankle
    hip = xy[:, L.LEFT_HIP].copy()
    scale = 1.0 / 400.0  # metres per pixel for the world landmarks
    world = np.zeros((len(t), 33, 3))
    world[:, :, 0] = (xy[:, :, 0] - hip[:, None, 0]) * scale
    world[:, :, 1] = (xy[:, :, 1] - hip[:, None, 1]) * scale
    yaw = np.radians(view_yaw_deg)
    world_x = world[:, :, 0].copy()
    world[:, :, 0], world[:, :, 2] = world_x * np.cos(yaw), world_x * np.sin(yaw)
    xy[:, :, 0] = hip[:, None, 0] + (xy[:, :, 0] - hip[:, None, 0]) * np.cos(yaw)
    return PoseSequence(
        xy=xy, z=seq.z, visibility=seq.visibility, world=world, t=t, frame_size=seq.frame_size,
    )
