"""Exercise recognition on synthetic lifters of known geometry (no model, no footage)."""

import math

import numpy as np
import pytest

from analyzer.kinematics import measure
from analyzer.recognition import LABELS, Features, Recognition, load_recognition, recognize, score
from analyzer.rules import load_rules
from tests.factories import hinge_lifter_sequence, hinge_signal

FPS = 30.0
TH = {name: t.value for name, t in load_recognition().items()}


def _t(seconds: float) -> np.ndarray:
    return np.arange(0, seconds, 1 / FPS)


def _recognize(seq):
    kin = measure(seq)
    return recognize(seq, kin.trunk_inclination_deg, kin.knee_angle_deg, load_rules("kb_swing"), kin.hip_angle_deg)


def _lift(bottoms, seconds, *, trunk_depth, knee_depth, hands="hang", half_width_s=1.0, swing=False):
    t = _t(seconds)
    trunk = hinge_signal(t, bottoms, depth_deg=trunk_depth, half_width_s=half_width_s)
    bend = hinge_signal(t, bottoms, depth_deg=knee_depth, half_width_s=half_width_s, standing_deg=0.0)
    swing_deg = None
    if swing:  # arms hang at the bottom and float up to horizontal between backswings
        swing_deg = 90.0 * (1.0 - np.clip((trunk - 5.0) / (trunk_depth - 5.0), 0, 1))
    return hinge_lifter_sequence(t, trunk, knee_deg=180.0 - bend, hands=hands, swing_deg=swing_deg)


CASES = [
    # name, sequence, expected label
    ("deadlift: trunk 70, knees 60, bar to the floor", lambda: _lift([2.5, 6.5, 10.5], 13, trunk_depth=70,
                                                                     knee_depth=60), "deadlift"),
    ("rdl: trunk 75, soft knees", lambda: _lift([2.5, 6.5, 10.5], 13, trunk_depth=75, knee_depth=15), "rdl"),
    ("good morning: bar on the back", lambda: _lift([2.5, 6.5, 10.5], 13, trunk_depth=75, knee_depth=15,
                                                    hands="shoulders"), "good_morning"),
    ("kb swing: 1.3 s cycles, arms to shoulder height",
     lambda: _lift([1.5 + 1.3 * k for k in range(8)], 12, trunk_depth=50, knee_depth=25, half_width_s=0.5,
                   swing=True, hands="swing"), "kb_swing"),
    ("squat: knees 110, trunk 35", lambda: _lift([2.5, 6.5, 10.5], 13, trunk_depth=35, knee_depth=110),
     "not_hinge"),
    ("standing still", lambda: _lift([], 8, trunk_depth=70, knee_depth=60), "not_hinge"),
    ("lying prone: trunk horizontal throughout", lambda: hinge_lifter_sequence(_t(8), np.full(240, 90.0)),
     "not_hinge"),
]


@pytest.mark.parametrize(("name", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_recognition_table(name, make, expected):
    rec = _recognize(make())
    assert rec.exercise == expected, f"{name}: {rec.reason} {dict(rec.scores)}"
    assert 0.0 <= rec.confidence <= 1.0
    assert set(rec.scores) == set(LABELS)
    assert rec.reason


def test_walking_sway_is_not_a_hinge():
    t = _t(10)
    trunk = 8 + 5 * np.sin(2 * np.pi * 1.8 * t)
    knee = 180 - 30 * np.clip(np.sin(2 * np.pi * 0.9 * t), 0, None)
    rec = _recognize(hinge_lifter_sequence(t, trunk, knee_deg=knee))
    assert rec.exercise == "not_hinge"
    assert rec.confidence == pytest.approx(1.0)


def test_oblique_view_still_recognises_the_rdl():
    t = _t(13)
    trunk = hinge_signal(t, [2.5, 6.5, 10.5], depth_deg=75)
    seq = hinge_lifter_sequence(t, trunk, knee_deg=180 - hinge_signal(t, [2.5, 6.5, 10.5], depth_deg=15,
                                                                      standing_deg=0), view_yaw_deg=45)
    assert _recognize(seq).exercise == "rdl"


def _features(**changes):
    base = dict(reps=3, rep_s=3.5, depth_deg=75.0, knee_flexion_deg=20.0, hip_share=75 / 95, wrist_drop=0.5,
                wrist_top=0.55, hands_at_shoulders=0.0)
    base.update(changes)
    return Features(**base)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "rdl"),
        ({"wrist_drop": 0.2, "knee_flexion_deg": 60.0, "hip_share": 75 / 135}, "deadlift"),
        ({"hands_at_shoulders": 0.95}, "good_morning"),
        ({"rep_s": 1.3, "wrist_top": 0.9, "reps": 10}, "kb_swing"),
        ({"rep_s": 1.3, "wrist_top": 0.9, "reps": 1}, "rdl"),  # one cycle shows no cadence
        ({"depth_deg": 35.0, "knee_flexion_deg": 100.0, "hip_share": 35 / 135}, "not_hinge"),
        ({"reps": 0}, "not_hinge"),
    ],
)
def test_score_table(changes, expected):
    scores, reason = score(_features(**changes), TH)
    assert max(scores, key=lambda k: scores[k]) == expected, reason
    assert all(0.0 <= v <= 1.0 for v in scores.values())


def test_missing_evidence_is_neutral_not_fatal():
    scores, _ = score(_features(wrist_drop=math.nan, knee_flexion_deg=math.nan, hip_share=math.nan), TH)
    assert max(scores, key=lambda k: scores[k]) in {"deadlift", "rdl"}


def test_every_threshold_has_unit_and_reason():
    for name, threshold in load_recognition().items():
        assert threshold.unit and threshold.reason, name


def test_recognition_validates_its_fields():
    with pytest.raises(ValueError):
        Recognition("squat", 0.5, {}, "")
    with pytest.raises(ValueError):
        Recognition("rdl", 1.5, {}, "")
