"""Which exercise a clip shows: deadlift, RDL, good morning, kettlebell swing, or not a hinge (pure numpy).

Evidence, measured over the clip's hinge cycles (found with the generic hinge counter of
``analyzer.reps``):

- hinge vs squat: at the bottom of a hinge the trunk inclines (the hips move back) while the knees stay
  soft; a squat bends the knees far more with the trunk fairly upright. ``hip_share`` = trunk inclination /
  (trunk inclination + knee flexion) at the bottoms: high for a hinge, low for a squat.
- no cycles at all (walking, lying, yoga, standing about): not a hinge.
- kettlebell swing: fast cadence (short reps) and the hands swing up in front to about shoulder height.
- good morning: the hands stay at the shoulders (bar on the back) through the hinge.
- deadlift vs RDL: the bar (wrists) goes to the floor and the knees bend more at the bottom of a deadlift.

Thresholds come from models/recognition.toml, each with its unit and reason. Image y points down.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from analyzer.errors import ConfigError
from analyzer.reps import RepCount, RepWindow, count_reps
from analyzer.rules import RuleSet, Threshold, load_table, parse_table
from analyzer.types import Landmark, PoseSequence

L = Landmark
LABELS = ("deadlift", "rdl", "good_morning", "kb_swing", "not_hinge")


@dataclass(frozen=True)
class Recognition:
    """The recognised exercise, how sure (0-1), the score of every label (0-1) and a plain reason."""

    exercise: str
    confidence: float
    scores: Mapping[str, float]
    reason: str

    def __post_init__(self) -> None:
        if self.exercise not in LABELS:
            raise ValueError(f"exercise must be one of {LABELS}, got {self.exercise!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], got {self.confidence}")


@dataclass(frozen=True)
class Features:
    """Clip-level evidence (NaN where it could not be measured).

    reps: hinge cycles found; rep_s: median time between consecutive bottoms (the cadence), s;
    depth_deg: median peak trunk inclination at the bottoms;
    knee_flexion_deg: median knee flexion (180 - knee angle) at the bottoms;
    hip_share: depth / (depth + knee flexion); wrist_drop: median height of the wrists above the ankles at
    the bottoms, as a fraction of the standing hip height (0 = floor, 1 = hip); wrist_top: highest wrist
    height near lockout as a fraction of standing shoulder height above the ankles; hands_at_shoulders:
    fraction of hinged frames with the wrists within ``hands_near_shoulder_trunk`` trunk lengths of the
    shoulders.
    """

    reps: int
    rep_s: float
    depth_deg: float
    knee_flexion_deg: float
    hip_share: float
    wrist_drop: float
    wrist_top: float
    hands_at_shoulders: float


def load_recognition(path: Path | None = None) -> MappingProxyType[str, Threshold]:
    """Recognition thresholds from ``path`` or the packaged ``models/recognition.toml``."""
    if path is not None:
        return parse_table(Path(path).read_text(), str(path)).thresholds
    return load_table("recognition").thresholds


def _value(th: Mapping[str, Threshold], name: str) -> float:
    try:
        return th[name].value
    except KeyError:
        raise ConfigError(f"recognition thresholds have no {name!r}") from None


def _median(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def _mid(xy: np.ndarray, left: int, right: int) -> np.ndarray:
    return np.nanmean(np.stack([xy[:, left], xy[:, right]]), axis=0)


def measure_features(
    seq: PoseSequence, knee_angle_deg: np.ndarray, counted: RepCount, th: Mapping[str, float],
) -> Features:
    """Clip evidence from the pose, the knee angle (T,) degrees and the hinge cycles found in it."""
    windows: tuple[RepWindow, ...] = counted.windows
    xy = seq.xy.astype(np.float64)
    y_wrist = np.nanmin(np.stack([xy[:, L.LEFT_WRIST, 1], xy[:, L.RIGHT_WRIST, 1]]), axis=0)  # higher hand
    y_wrist_low = np.nanmax(np.stack([xy[:, L.LEFT_WRIST, 1], xy[:, L.RIGHT_WRIST, 1]]), axis=0)
    ankle, hip, shoulder = _mid(xy, L.LEFT_ANKLE, L.RIGHT_ANKLE), _mid(xy, L.LEFT_HIP, L.RIGHT_HIP), _mid(
        xy, L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
    trunk_len = np.hypot(*(shoulder - hip).T)
    wrist_mid = _mid(xy, L.LEFT_WRIST, L.RIGHT_WRIST)
    knee_flex = 180.0 - np.asarray(knee_angle_deg, np.float64)
    signal = counted.signal
    upright = signal <= th["lockout_deg"]
    hip_height = float(np.nanmedian((ankle[:, 1] - hip[:, 1])[upright])) if upright.any() else float("nan")
    shoulder_height = float(np.nanmedian((ankle[:, 1] - shoulder[:, 1])[upright])) if upright.any() else float("nan")
    depth, knees, drops, tops = [], [], [], []
    for w in windows:
        b = w.bottom
        depth.append(float(signal[b]))
        knees.append(float(knee_flex[b]))
        drops.append(float((ankle[b, 1] - y_wrist_low[b]) / hip_height))
        seg = slice(w.bottom, w.end + 1)
        tops.append(float(np.nanmax(ankle[seg, 1] - y_wrist[seg]) / shoulder_height)
                    if np.isfinite(ankle[seg, 1] - y_wrist[seg]).any() else float("nan"))
    durations = [b.bottom_s - a.bottom_s for a, b in itertools.pairwise(windows)]
    hinged = signal >= th["hinged_deg"]
    with np.errstate(invalid="ignore"):
        near = np.hypot(*(wrist_mid - shoulder).T) <= th["hands_near_shoulder_trunk"] * trunk_len
    seen = hinged & np.isfinite(wrist_mid[:, 0]) & np.isfinite(trunk_len)
    d, k = _median(depth), _median(knees)
    return Features(
        reps=len(windows), rep_s=_median(durations), depth_deg=d, knee_flexion_deg=k,
        hip_share=d / (d + max(k, 0.0)) if math.isfinite(d + k) and d + max(k, 0.0) > 0 else float("nan"),
        wrist_drop=_median(drops), wrist_top=_median(tops),
        hands_at_shoulders=float(near[seen].mean()) if seen.any() else float("nan"),
    )


def _ramp(x: float, lo: float, hi: float) -> float:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between (0.5 for NaN: no evidence)."""
    if not math.isfinite(x):
        return 0.5
    if hi == lo:
        return float(x >= hi)
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def score(f: Features, th: Mapping[str, float]) -> tuple[dict[str, float], str]:
    """Scores (0-1) for each label from the features, and the reason for the best one."""
    if f.reps < th["min_cycles"]:
        reason = "no hinge cycle: the trunk never went from upright to hinged and back"
        return {**{k: 0.0 for k in LABELS[:-1]}, "not_hinge": 1.0}, reason
    hinge = max(_ramp(f.hip_share, th["hip_share_squat"], th["hip_share_hinge"]),
                _ramp(f.depth_deg, th["squat_depth_deg"], th["hinge_depth_deg"]))
    cadence_seen = f.reps >= th["swing_min_cycles"] and math.isfinite(f.rep_s)
    fast = 1.0 - _ramp(f.rep_s, th["swing_rep_s"], th["pull_rep_s"]) if cadence_seen else 0.0
    arms_up = _ramp(f.wrist_top, th["swing_wrist_top_low"], th["swing_wrist_top_high"])
    on_back = _ramp(f.hands_at_shoulders, th["good_morning_fraction_low"], th["good_morning_fraction_high"])
    floor = 1.0 - _ramp(f.wrist_drop, th["floor_wrist_drop"], th["rdl_wrist_drop"])
    bent = _ramp(f.knee_flexion_deg, th["rdl_knee_flexion_deg"], th["deadlift_knee_flexion_deg"])
    swing = fast * arms_up * (1 - on_back)
    gm = on_back * (1 - swing)
    pull = (1 - swing) * (1 - gm)
    deadlift_share = 0.5 * floor + 0.5 * bent
    scores = {
        "deadlift": hinge * pull * deadlift_share,
        "rdl": hinge * pull * (1 - deadlift_share),
        "good_morning": hinge * gm,
        "kb_swing": hinge * swing,
        "not_hinge": 1.0 - hinge,
    }
    best = max(scores, key=lambda k: scores[k])
    reasons = {
        "not_hinge": f"knees bend {f.knee_flexion_deg:.0f} deg while the trunk inclines only {f.depth_deg:.0f} deg "
                     f"(hip share {f.hip_share:.2f}): a squat, not a hinge",
        "kb_swing": f"{f.reps} fast cycles ({f.rep_s:.1f} s each) with the hands swinging up to "
                    f"{f.wrist_top:.2f} of shoulder height",
        "good_morning": f"hands stay at the shoulders on {f.hands_at_shoulders:.0%} of hinged frames (bar on the back)",
        "deadlift": f"hands reach {f.wrist_drop:.2f} of hip height at the bottom and knees bend "
                    f"{f.knee_flexion_deg:.0f} deg: the bar goes to the floor",
        "rdl": f"hands stop at {f.wrist_drop:.2f} of hip height with knees bent {f.knee_flexion_deg:.0f} deg: "
               "the bar stays off the floor",
    }
    return scores, reasons[best]


def recognize(
    seq: PoseSequence, trunk_2d_deg: np.ndarray, knee_angle_deg: np.ndarray, rules: RuleSet,
    hip_angle_deg: np.ndarray | None = None, thresholds: Mapping[str, Threshold] | None = None,
) -> Recognition:
    """Recognise the exercise of a clip.

    Args:
        seq: the pose sequence.
        trunk_2d_deg, knee_angle_deg, hip_angle_deg: (T,) degrees from ``kinematics.measure``.
        rules: the rule table whose ``reps.*`` band finds the hinge cycles (a generic hinge table,
            e.g. the kettlebell swing's, whose shallower band also catches swings).
        thresholds: recognition thresholds (default: models/recognition.toml).
    """
    table = load_recognition() if thresholds is None else thresholds
    th = {name: _value(table, name) for name in table}
    counted = count_reps(seq, trunk_2d_deg, rules, hip_angle_deg)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames without hands or hips are NaN by design
        features = measure_features(seq, knee_angle_deg, counted, th)
    scores, reason = score(features, th)
    ranked = sorted(scores.values(), reverse=True)
    best = max(scores, key=lambda k: scores[k])
    # margin of the best label over the runner-up, relative to the best: 1 = unopposed, 0 = a tie
    confidence = float(np.clip((ranked[0] - ranked[1]) / ranked[0], 0.0, 1.0)) if ranked[0] > 0 else 0.0
    return Recognition(best, confidence, MappingProxyType({k: round(float(v), 4) for k, v in scores.items()}), reason)
