"""Form checks on synthetic lifters of known geometry, judged with the packaged rule tables."""


import numpy as np
import pytest

from analyzer.faults import Judgement, every_check_on, faults_of, judge, not_judged, severity, sustained_max
from analyzer.kinematics import measure
from analyzer.rules import EXERCISES, load_rules
from analyzer.types import FaultCode, Landmark, PoseSequence, Rep
from tests.factories import lifter_sequence, with_back_outline

PERIOD_S = 5.0
FPS = 30.0
# One rep per period: stand, lower (0.5-1.7 s), bottom (to 2.0 s), lift (to 3.5 s), stand.
KNOTS = np.array([0.0, 0.5, 1.7, 2.0, 2.6, 3.5, 5.0])
CLEAN = {
    "trunk_deg": [0, 0, 70, 70, 55, 0, 0],
    "knee_deg": [180, 180, 120, 120, 155, 180, 180],
    "shin_deg": [0, 0, 20, 20, 8, 0, 0],
    "neck_ext_deg": [0, 0, 0, 0, 0, 0, 0],
    "bar_forward_px": [0, 0, 0, 0, 0, 0, 0],
}
REP_S = (0.5, 1.85, 3.5, 5.0)  # start, bottom, lockout, end within a period


def _signals(t: np.ndarray, changes: dict, reps: int) -> dict[str, np.ndarray]:
    out = {}
    for name, values in CLEAN.items():
        per_rep = [changes.get(name, values) if i == reps - 1 else values for i in range(reps)]
        phase, rep = np.mod(t, PERIOD_S), np.minimum((t // PERIOD_S).astype(int), reps - 1)
        out[name] = np.select([rep == i for i in range(reps)],
                              [np.interp(phase, *_knots(per_rep[i])) for i in range(reps)])
    for name in changes.keys() - CLEAN.keys():  # signals a clean rep leaves to the factory (one-rep cases)
        out[name] = np.interp(np.mod(t, PERIOD_S), *_knots(changes[name]))
    return out


def _knots(values) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, tuple):  # (times, values) for cases that need their own knots
        return np.asarray(values[0], float), np.asarray(values[1], float)
    return KNOTS, np.asarray(values, float)


def _lifter(changes: dict | None = None, *, reps: int = 1, curvature: float | list[float] = 0.0,
            outline: bool = True) -> tuple[PoseSequence, list[Rep]]:
    t = np.arange(0, PERIOD_S * reps, 1 / FPS)
    sig = _signals(t, changes or {}, reps)
    seq = lifter_sequence(t, **sig)
    if outline:
        per_rep = np.broadcast_to(np.asarray(curvature, float), (reps,))
        ratio = per_rep[np.minimum((t // PERIOD_S).astype(int), reps - 1)] * (sig["trunk_deg"] > 30)
        seq = with_back_outline(seq, ratio)
    windows = [Rep(index=i + 1, start_s=REP_S[0] + PERIOD_S * i, bottom_s=REP_S[1] + PERIOD_S * i,
                   lockout_s=REP_S[2] + PERIOD_S * i, end_s=REP_S[3] + PERIOD_S * i - 1 / FPS) for i in range(reps)]
    return seq, windows


def _by_code(judgements: tuple[Judgement, ...]) -> dict[FaultCode, Judgement]:
    return {j.code: j for j in judgements}


DEADLIFT = load_rules("deadlift")
# the shipped table switches hips_rise_first off (not validated); its measure is still tested, switched on
DEADLIFT_ALL_ON = every_check_on(DEADLIFT)


def test_a_check_switched_off_in_the_table_is_not_judged_with_the_tables_reason():
    seq, reps = _lifter()
    (rep,) = judge(reps, measure(seq), DEADLIFT)
    switched = _by_code(rep)[FaultCode.HIPS_RISE_FIRST]
    assert switched.status == "not_judged"
    assert switched.reason == DEADLIFT.thresholds["faults.hips_rise_first.enabled"].reason


def test_clean_rep_flags_nothing_and_judges_everything():
    seq, reps = _lifter()
    (rep,) = judge(reps, measure(seq), DEADLIFT_ALL_ON)
    assert {j.code for j in rep} == set(FaultCode)
    assert [j.code for j in rep if j.status != "ok"] == []
    assert faults_of(rep) == ()


FAST_DROP = [0, 1.4, 1.7, 2.0, 2.6, 3.5, 5]
HIPS_UP = [0, 0.5, 1.7, 2.0, 2.3, 2.5, 2.7, 3.5, 5]
# fault, changes to the clean rep, expected measured value, tolerance, unit
CASES = [
    (FaultCode.ROUNDED_BACK, {"curvature": 0.08}, 0.08, 1e-3, "sagitta/chord"),
    (FaultCode.HYPEREXTENDED_LOCKOUT,
     {"trunk_deg": ([0, 0.5, 1.7, 2.0, 2.6, 3.5, 3.9, 5], [0, 0, 70, 70, 55, 0, -20, -20])}, 20.0, 0.5, "deg"),
    # measured past the neutral neck's reading (faults.neck.neutral_offset_deg, 17 deg)
    (FaultCode.NECK_CRANING, {"neck_ext_deg": ([0, 1.0, 1.1, 2.3, 2.4, 5], [0, 0, 60, 60, 0, 0])}, 43.0, 0.5, "deg"),
    (FaultCode.NECK_SAGGING, {"neck_ext_deg": ([0, 1.0, 1.1, 2.3, 2.4, 5], [0, 0, -40, -40, 0, 0])}, 57.0, 0.5,
     "deg"),
    (FaultCode.SQUATTING_THE_PULL,
     {"trunk_deg": [0, 0, 40, 40, 20, 0, 0], "knee_deg": [180, 180, 80, 80, 130, 180, 180],
      "shin_deg": [0, 0, 35, 35, 17.5, 0, 0]}, 105 / 205, 0.01, "hip share"),
    # the bar is lowest at 2.0 s; the trunk tips 20 deg toward horizontal before the bar passes the knees
    (FaultCode.HIPS_RISE_FIRST, {"trunk_deg": (HIPS_UP, [0, 0, 70, 70, 90, 90, 60, 0, 0]),
                                 "knee_deg": (HIPS_UP, [180, 180, 120, 120, 165, 168, 172, 180, 180]),
                                 "shin_deg": (HIPS_UP, [0, 0, 20, 20, 4, 3, 2, 0, 0]),
                                 "wrist_height_px": (HIPS_UP, [320, 320, 136, 136, 150, 160, 250, 320, 320])},
     20.0, 0.5, "deg"),
    (FaultCode.BAR_DRIFT, {"bar_forward_px": ([0, 0.5, 2.0, 2.5, 3.0, 3.5, 5], [0, 0, 0, 100, 100, 0, 0])}, 0.5, 0.01,
     "trunk lengths"),
    (FaultCode.INCOMPLETE_LOCKOUT,
     {"trunk_deg": [0, 0, 70, 70, 55, 15, 15], "knee_deg": [180, 180, 120, 120, 155, 170, 170]}, 155.0, 0.5, "deg"),
    # lowered in 0.35 s, lifted in 1.65 s (times snap to frames: 0.367 / 1.633)
    (FaultCode.UNCONTROLLED_LOWERING,
     {"trunk_deg": (FAST_DROP, [0, 0, 70, 70, 55, 0, 0]), "knee_deg": (FAST_DROP, [180, 180, 120, 120, 155, 180, 180]),
      "shin_deg": (FAST_DROP, [0, 0, 20, 20, 8, 0, 0])}, 0.367 / 1.633, 0.01, "eccentric/concentric"),
]


@pytest.mark.parametrize(("code", "changes", "expected", "tol", "unit"), CASES, ids=[c[0].value for c in CASES])
def test_each_fault_is_flagged_with_its_measured_value(code, changes, expected, tol, unit):
    changes = dict(changes)
    curvature = changes.pop("curvature", 0.0)
    seq, reps = _lifter(changes, curvature=curvature)
    if code is FaultCode.UNCONTROLLED_LOWERING:
        reps = [Rep(index=1, start_s=1.5, bottom_s=1.85, lockout_s=3.5, end_s=reps[0].end_s)]
    (rep,) = judge(reps, measure(seq), DEADLIFT_ALL_ON)
    found = _by_code(rep)[code]
    assert found.status == "flagged", found
    assert found.fault is not None and found.fault.unit == unit
    assert found.fault.measured == pytest.approx(expected, abs=tol)
    assert 0.5 <= found.fault.severity <= 1.0
    assert reps[0].start_s <= found.fault.worst_t <= reps[0].end_s
    others = [j.code for j in rep if j.status == "flagged" and j.code is not code]
    assert others == []


def test_rounded_back_against_the_lifters_flattest_rep():
    # 0.045 is under the absolute limit (0.05) but 0.045 above this lifter's flat reps (margin 0.04)
    seq, reps = _lifter(reps=3, curvature=[0.0, 0.005, 0.045])
    judged = [_by_code(r)[FaultCode.ROUNDED_BACK] for r in judge(reps, measure(seq), DEADLIFT)]
    assert [j.status for j in judged] == ["ok", "ok", "flagged"]
    assert judged[2].measured == pytest.approx(0.045, abs=1e-3)
    assert judged[2].threshold == pytest.approx(0.04, abs=1e-3)


@pytest.mark.parametrize(
    ("setup", "codes", "reason"),
    [
        ("no_outline", {FaultCode.ROUNDED_BACK}, "too few frames"),
        ("head_hidden", {FaultCode.NECK_CRANING, FaultCode.NECK_SAGGING}, "head"),
        ("front_view", set(FaultCode) - {FaultCode.UNCONTROLLED_LOWERING}, "front"),
        ("kb_swing", {FaultCode.BAR_DRIFT, FaultCode.HIPS_RISE_FIRST, FaultCode.UNCONTROLLED_LOWERING}, "not checked"),
    ],
)
def test_reps_that_cannot_be_judged_say_why(setup, codes, reason):
    seq, reps = _lifter(outline=setup != "no_outline")
    rules = load_rules("kb_swing") if setup == "kb_swing" else DEADLIFT_ALL_ON
    if setup in ("head_hidden", "front_view"):
        xy, vis = seq.xy.copy(), seq.visibility.copy()
        if setup == "head_hidden":
            vis[:, [Landmark.NOSE, Landmark.LEFT_EAR, Landmark.RIGHT_EAR]] = 0.0
        else:
            xy[:, Landmark.LEFT_SHOULDER, 0] += 80
            xy[:, Landmark.RIGHT_SHOULDER, 0] -= 80
        seq = PoseSequence(xy=xy, z=seq.z, visibility=vis, world=seq.world, t=seq.t, frame_size=seq.frame_size,
                           outline=seq.outline, outline_fractions=seq.outline_fractions, mask_area=seq.mask_area)
    (rep,) = judge(reps, measure(seq), rules)
    missing = not_judged(rep)
    assert set(missing) == {c.value for c in codes}
    assert all(reason in text for text in missing.values())


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_rule_table_serves_the_checks(exercise):
    seq, reps = _lifter()
    (rep,) = judge(reps, measure(seq), load_rules(exercise))
    assert len(rep) == len(FaultCode)


@pytest.mark.parametrize(
    ("measured", "threshold", "severe", "expected"),
    [(0.05, 0.05, 0.1, 0.5), (0.075, 0.05, 0.1, 0.75), (0.2, 0.05, 0.1, 1.0), (0.45, 0.55, 0.45, 1.0),
     (0.5, 0.55, 0.45, 0.75)],
)
def test_severity_scale(measured, threshold, severe, expected):
    assert severity(measured, threshold, severe) == pytest.approx(expected)


def test_judgement_consistency_is_enforced():
    with pytest.raises(ValueError, match="reason"):
        Judgement(FaultCode.BAR_DRIFT, "not_judged")
    with pytest.raises(ValueError, match="flagged"):
        Judgement(FaultCode.BAR_DRIFT, "flagged")


# --- definitions that hold up on real footage: sustained values, visible landmarks, plausible heads ---

@pytest.mark.parametrize(
    ("name", "t", "x", "duration_s", "expected", "start"),
    [
        ("plain maximum when no duration", [0, 1, 2, 3], [1, 5, 2, 0], 0.0, 5.0, 1),
        ("a one-sample spike is not held", [0, 1, 2, 3], [1, 5, 2, 0], 1.0, 2.0, 1),
        ("a plateau is held", [0, 1, 2, 3, 4], [0, 4, 4, 4, 0], 2.0, 4.0, 1),
        ("a gap breaks the hold", [0, 1, 2, 3], [3, np.nan, 3, 3], 1.0, 3.0, 2),
        ("nothing lasts long enough", [0, 1], [3, np.nan], 1.0, float("nan"), -1),
    ],
)
def test_sustained_max(name, t, x, duration_s, expected, start):
    value, i = sustained_max(np.asarray(t, float), np.asarray(x, float), duration_s)
    assert (value == pytest.approx(expected)) or (np.isnan(expected) and np.isnan(value)), name
    assert i == start, name


LEAN_KNOTS = [0, 0.5, 1.7, 2.0, 2.6, 3.5, 3.9, 4.0, 4.1, 5]


@pytest.mark.parametrize(
    ("name", "trunk_deg", "status", "measured"),
    [
        ("a 0.2 s sway to 20 deg back as the bar sets", (LEAN_KNOTS, [0, 0, 70, 70, 55, 0, 0, -20, 0, 0]), "ok", 0.0),
        ("20 deg back held to the end", (LEAN_KNOTS, [0, 0, 70, 70, 55, 0, -20, -20, -20, -20]), "flagged", 20.0),
        ("8 deg back held: within neutral and tilt", (LEAN_KNOTS, [0, 0, 70, 70, 55, 0, -8, -8, -8, -8]), "ok", 8.0),
    ],
)
def test_hyperextension_must_be_held(name, trunk_deg, status, measured):
    seq, reps = _lifter({"trunk_deg": trunk_deg})
    found = _by_code(judge(reps, measure(seq), DEADLIFT)[0])[FaultCode.HYPEREXTENDED_LOCKOUT]
    assert found.status == status, name
    assert found.measured == pytest.approx(measured, abs=1.0), name


def _hide(seq: PoseSequence, landmarks: list[int], start_s: float, stop_s: float) -> PoseSequence:
    vis = seq.visibility.copy()
    rows = (seq.t >= start_s) & (seq.t < stop_s)
    vis[np.ix_(rows, landmarks)] = 0.0
    return PoseSequence(xy=seq.xy, z=seq.z, visibility=vis, world=seq.world, t=seq.t, frame_size=seq.frame_size,
                        outline=seq.outline, outline_fractions=seq.outline_fractions, mask_area=seq.mask_area)


WRISTS = [Landmark.LEFT_WRIST, Landmark.RIGHT_WRIST]
DRIFT_KNOTS = [0, 0.5, 1.2, 1.5, 2.0, 2.5, 3.0, 3.5, 5]


@pytest.mark.parametrize(
    ("name", "bar_forward_px", "hidden_s", "status"),
    [
        ("hands reach forward during the set-up only", (DRIFT_KNOTS, [0, 0, 120, 0, 0, 0, 0, 0, 0]), None, "ok"),
        ("bar drifts 0.5 trunk lengths in the pull", (DRIFT_KNOTS, [0, 0, 0, 0, 0, 100, 100, 0, 0]), None, "flagged"),
        ("wrists hidden for most of the pull", (DRIFT_KNOTS, [0, 0, 0, 0, 0, 100, 100, 0, 0]), (1.9, 3.4),
         "not_judged"),
        ("a one-frame wrist jump is not a drift", (DRIFT_KNOTS, [0, 0, 0, 0, 0, 0, 0, 0, 0]), None, "ok"),
    ],
)
def test_bar_drift_is_read_over_the_pull(name, bar_forward_px, hidden_s, status):
    seq, reps = _lifter({"bar_forward_px": bar_forward_px})
    if name.startswith("a one-frame"):
        xy = seq.xy.copy()
        xy[int(2.5 * FPS), WRISTS, 0] += 150.0
        seq = PoseSequence(xy=xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=seq.t,
                           frame_size=seq.frame_size, outline=seq.outline, outline_fractions=seq.outline_fractions,
                           mask_area=seq.mask_area)
    if hidden_s:
        seq = _hide(seq, WRISTS, *hidden_s)
    found = _by_code(judge(reps, measure(seq), DEADLIFT)[0])[FaultCode.BAR_DRIFT]
    assert found.status == status, (name, found)


@pytest.mark.parametrize(
    ("name", "neck_ext_deg", "status"),
    [
        ("a neutral neck (the generated clips' +17 deg)", [0, 0, 17, 17, 0, 0], "ok"),
        ("a head read 120 deg off is mis-tracked", [0, 0, 120, 120, 0, 0], "not_judged"),
    ],
)
def test_neck_against_a_neutral_neck(name, neck_ext_deg, status):
    seq, reps = _lifter({"neck_ext_deg": ([0, 1.0, 1.1, 2.3, 2.4, 5], neck_ext_deg)})
    found = _by_code(judge(reps, measure(seq), DEADLIFT)[0])[FaultCode.NECK_CRANING]
    assert found.status == status, (name, found)


def test_lockout_checks_are_not_judged_when_the_lockout_was_not_seen():
    seq, reps = _lifter({"trunk_deg": (LEAN_KNOTS, [0, 0, 70, 70, 55, 0, -20, -20, -20, -20])})
    (rep,) = judge(reps, measure(seq), DEADLIFT, unseen_lockouts={0})
    found = _by_code(rep)
    for code in (FaultCode.HYPEREXTENDED_LOCKOUT, FaultCode.INCOMPLETE_LOCKOUT, FaultCode.NECK_CRANING):
        assert found[code].status == "not_judged"
        assert "not tracked at lockout" in found[code].reason
    assert found[FaultCode.ROUNDED_BACK].status == "ok"


@pytest.mark.parametrize(("view", "status"), [("", "flagged"), ("side", "flagged"), ("oblique", "not_judged"),
                                              ("front", "not_judged"), ("unknown", "flagged")])
def test_bar_drift_needs_a_side_view(view, status):
    seq, reps = _lifter({"bar_forward_px": (DRIFT_KNOTS, [0, 0, 0, 0, 0, 100, 100, 0, 0])})
    found = _by_code(judge(reps, measure(seq), DEADLIFT, view=view)[0])[FaultCode.BAR_DRIFT]
    assert found.status == status, view
