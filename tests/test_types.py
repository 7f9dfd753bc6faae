import numpy as np
import pytest

from analyzer.types import REPORT_SCHEMA_VERSION, Fault, FaultCode, PoseSequence, Rep, Report
from tests.factories import side_view_sequence


def test_pose_sequence_round_trips_through_npz(tmp_path):
    t = np.arange(0, 1, 1 / 30)
    seq = side_view_sequence(np.full(len(t), 30.0), t)
    seq.save(tmp_path / "pose.npz")
    back = PoseSequence.load(tmp_path / "pose.npz")
    assert back.frame_size == seq.frame_size
    for name in ("xy", "z", "visibility", "world", "t", "outline", "mask_area", "frame_index"):
        np.testing.assert_array_equal(getattr(back, name), getattr(seq, name))


def test_slicing_returns_a_pose_sequence():
    t = np.arange(0, 1, 1 / 30)
    part = side_view_sequence(np.full(len(t), 30.0), t)[5:10]
    assert isinstance(part, PoseSequence) and len(part) == 5
    assert part.t[0] == pytest.approx(5 / 30) and list(part.frame_index) == [5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("t", np.array([0.0, 0.0, 0.1]), "strictly increasing"),
        ("xy", np.zeros((3, 32, 2)), "xy must be"),
        ("visibility", np.zeros((3, 2)), "visibility"),
    ],
)
def test_invalid_pose_sequences_are_rejected(field, value, message):
    t = np.array([0.0, 0.1, 0.2])
    kwargs = dict(
        xy=np.zeros((3, 33, 2)), z=np.zeros((3, 33)), visibility=np.zeros((3, 33)),
        world=np.zeros((3, 33, 3)), t=t, frame_size=(10, 10),
    )
    kwargs[field] = value
    with pytest.raises(ValueError, match=message):
        PoseSequence(**kwargs)


def test_rep_phase_order_and_fault_ranges_are_validated():
    with pytest.raises(ValueError, match="start <= bottom"):
        Rep(index=1, start_s=2.0, bottom_s=1.0, lockout_s=3.0, end_s=4.0)
    with pytest.raises(ValueError, match="severity"):
        Fault(FaultCode.ROUNDED_BACK, severity=1.5, confidence=0.5, worst_t=1.0, measured=1, threshold=1,
              unit="deg")


def test_report_is_json_plain_with_nan_as_null():
    rep = Rep(index=1, start_s=0.0, bottom_s=1.0, lockout_s=2.0, end_s=2.5,
              metrics={"trunk_incline_max_deg": np.float64(61.5), "x": float("nan")})
    report = Report(clip={"fps": np.float32(30.0)}, exercise={}, reps=(rep,), summary={}, warnings=(),
                    provenance={})
    plain = report.to_dict()
    assert plain["reps"][0]["metrics"] == {"trunk_incline_max_deg": 61.5, "x": None}
    assert isinstance(plain["clip"]["fps"], float) and plain["schema_version"] == REPORT_SCHEMA_VERSION


def test_set_consistency_figures():
    from analyzer.pipeline import set_consistency

    def rep(i, depth, down, up, speed):
        return Rep(i, 0.0, 1.0, 2.0, 3.0, {"trunk_incline_max_deg": depth, "descent_s": down, "ascent_s": up,
                                           "bar_speed_peak_m_per_s": speed})

    s = set_consistency((rep(1, 60, 1.0, 1.0, 0.8), rep(2, 64, 1.0, 1.2, 1.0), rep(3, 62, 1.0, 1.4, 0.6)))
    assert s["trunk_incline_max_deg_mean"] == pytest.approx(62.0)
    assert s["trunk_incline_max_deg_cv"] == pytest.approx(np.std([60, 64, 62]) / 62)
    assert s["descent_s_cv"] == pytest.approx(0.0)
    assert s["velocity_loss"] == pytest.approx(1 - 0.6 / 1.0)
    single = set_consistency((rep(1, 60, 1.0, 1.0, 0.8),))
    assert np.isnan(single["trunk_incline_max_deg_cv"]) and np.isnan(single["velocity_loss"])
