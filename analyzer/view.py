"""Camera view, facing direction and capture quality from a PoseSequence (pure numpy)."""

from __future__ import annotations

import numpy as np

from analyzer.types import Landmark, PoseSequence

L = Landmark


def facing_x(seq: PoseSequence) -> np.ndarray:
    """(T,) +1 where the lifter faces image +x (right), -1 where they face left, NaN when unknown.

    Two cues that do not depend on left/right labels (which the model swaps in side views): the nose
    sits ahead of the ears, and the toes ahead of the heels. Each is scaled by the torso length so
    neither dominates; frames where they cancel out are unknown.
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
