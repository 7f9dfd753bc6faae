"""Angles and distances per frame, vectorised over the whole sequence (pure numpy).

Image frame: x right, y down, pixels of the upright frame. All angles in degrees.

- trunk inclination: the hip->shoulder segment (mid-hip to mid-shoulder) against vertical;
  0 = upright, 90 = horizontal, above 90 when the shoulders drop below the hips.
- hip angle: interior angle knee-hip-shoulder on the near side; 180 = standing straight,
  smaller = more hip flexion.
- knee angle: interior angle hip-knee-ankle on the near side; 180 = straight leg.

The near side is the one whose hip, knee and ankle the model sees best over the clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyzer.filtering import FilterOptions, clean
from analyzer.types import Landmark, PoseSequence

L = Landmark


def trunk_inclination_deg(shoulder: np.ndarray, hip: np.ndarray) -> np.ndarray:
    """(T,) trunk angle from vertical for (T, 2) shoulder and hip pixel positions."""
    d = shoulder - hip
    return np.degrees(np.arctan2(np.abs(d[:, 0]), -d[:, 1]))


def interior_angle_deg(a: np.ndarray, vertex: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T,) angle a-vertex-b in [0, 180] for (T, 2) points."""
    u, v = a - vertex, b - vertex
    cross = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    dot = np.sum(u * v, axis=1)
    return np.degrees(np.abs(np.arctan2(cross, dot)))


def near_side(seq: PoseSequence) -> str:
    """'left' or 'right': the side whose hip, knee and ankle are more visible over the clip."""
    left = np.nanmean(seq.visibility[:, [L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE]])
    right = np.nanmean(seq.visibility[:, [L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE]])
    return "left" if np.nan_to_num(left) >= np.nan_to_num(right) else "right"


@dataclass(frozen=True)
class Kinematics:
    """Per-frame measures, all (T,) float64 on ``t``; NaN where the lifter was not seen."""

    t: np.ndarray
    side: str
    trunk_inclination_deg: np.ndarray
    hip_angle_deg: np.ndarray
    knee_angle_deg: np.ndarray


def measure(seq: PoseSequence, filters: FilterOptions = FilterOptions()) -> Kinematics:
    """Clean the landmarks and compute the angles for every frame."""
    xy = clean(seq.t, seq.xy, filters)
    side = near_side(seq)
    hip_i, knee_i, ankle_i, shoulder_i = (
        (L.LEFT_HIP, L.LEFT_KNEE, L.LEFT_ANKLE, L.LEFT_SHOULDER) if side == "left"
        else (L.RIGHT_HIP, L.RIGHT_KNEE, L.RIGHT_ANKLE, L.RIGHT_SHOULDER)
    )
    mid_shoulder = (xy[:, L.LEFT_SHOULDER] + xy[:, L.RIGHT_SHOULDER]) / 2.0
    mid_hip = (xy[:, L.LEFT_HIP] + xy[:, L.RIGHT_HIP]) / 2.0
    return Kinematics(
        t=seq.t,
        side=side,
        trunk_inclination_deg=trunk_inclination_deg(mid_shoulder, mid_hip),
        hip_angle_deg=interior_angle_deg(xy[:, knee_i], xy[:, hip_i], xy[:, shoulder_i]),
        knee_angle_deg=interior_angle_deg(xy[:, hip_i], xy[:, knee_i], xy[:, ankle_i]),
    )
