"""Back-outline extraction from a person segmentation mask (pure numpy).

The landmarks give no points between shoulder and hip, so the only view of a rounded back in 2D is
the silhouette. For points spread along the shoulder->hip line we march perpendicular to the line,
on both sides, and record how far the mask extends. Kinematics later picks the side that is the back
(away from where the lifter faces) and measures the outline's bow against its own chord.
"""

from __future__ import annotations

import numpy as np

DEFAULT_RAY_FRACTIONS = np.linspace(0.1, 0.9, 9, dtype=np.float32)


def torso_outline(
    mask: np.ndarray,
    shoulder: np.ndarray,
    hip: np.ndarray,
    fractions: np.ndarray = DEFAULT_RAY_FRACTIONS,
    *,
    max_reach: float = 0.8,
    threshold: float = 0.5,
) -> np.ndarray:
    """Distance from the shoulder->hip line to the mask edge, on both sides.

    Args:
        mask: (H, W) person probability in [0, 1], same pixel grid as the points.
        shoulder, hip: (2,) pixel positions (x, y).
        fractions: (R,) positions along shoulder (0) -> hip (1) to cast rays from.
        max_reach: longest ray, as a fraction of the shoulder-hip distance.
        threshold: mask value that counts as the person.

    Returns:
        (2, R) float32 pixel distances; side 0 along the normal (-dy, dx) of the shoulder->hip
        direction (dx, dy), side 1 along (dy, -dx). NaN where the ray starts outside the mask, never
        leaves it within reach (background merged with the body), or leaves the frame first.
    """
    shoulder = np.asarray(shoulder, np.float64)
    hip = np.asarray(hip, np.float64)
    out = np.full((2, len(fractions)), np.nan, np.float32)
    axis = hip - shoulder
    length = float(np.hypot(*axis))
    if not np.isfinite(length) or length < 4.0:
        return out
    direction = axis / length
    normal = np.array([-direction[1], direction[0]])
    reach = max(2, int(length * max_reach))
    steps = np.arange(reach + 1, dtype=np.float64)  # 0 = on the joint line
    origins = shoulder + np.outer(fractions, axis)  # (R, 2)
    h, w = mask.shape
    for side, sign in enumerate((1.0, -1.0)):
        points = origins[:, None, :] + sign * steps[None, :, None] * normal  # (R, S, 2)
        col = np.rint(points[..., 0]).astype(np.int64)
        row = np.rint(points[..., 1]).astype(np.int64)
        inside_frame = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        values = np.zeros(col.shape, np.float32)
        values[inside_frame] = mask[row[inside_frame], col[inside_frame]]
        inside = values >= threshold
        first_out = np.argmin(inside, axis=1)  # first False along each ray
        never_out = inside.all(axis=1)
        starts_in = inside[:, 0]
        left_frame = ~inside_frame[np.arange(len(fractions)), first_out]
        valid = starts_in & ~never_out & ~left_frame
        out[side, valid] = first_out[valid].astype(np.float32)
    return out
