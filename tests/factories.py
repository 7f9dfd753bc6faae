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
