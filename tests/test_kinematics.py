import numpy as np
import pytest

from analyzer.kinematics import interior_angle_deg, measure, trunk_inclination_deg
from tests.factories import side_view_sequence


@pytest.mark.parametrize(
    ("shoulder", "hip", "expected"),
    [
        ((0.0, -10.0), (0.0, 0.0), 0.0),  # upright
        ((10.0, 0.0), (0.0, 0.0), 90.0),  # horizontal, facing right
        ((-10.0, 0.0), (0.0, 0.0), 90.0),  # horizontal, facing left
        ((10.0, -10.0), (0.0, 0.0), 45.0),
        ((-np.sqrt(3), -1.0), (0.0, 0.0), 60.0),
        ((10.0, 5.0), (0.0, 0.0), 180 - np.degrees(np.arctan2(10, 5))),  # shoulders below hips
    ],
)
def test_trunk_inclination_definition(shoulder, hip, expected):
    got = trunk_inclination_deg(np.array([shoulder]), np.array([hip]))
    assert got[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "vertex", "b", "expected"),
    [
        ((0, -1), (0, 0), (0, 1), 180.0),
        ((1, 0), (0, 0), (0, 1), 90.0),
        ((1, 0), (0, 0), (1, 1), 45.0),
        ((1, 0), (0, 0), (1, 0), 0.0),
    ],
)
def test_interior_angle(a, vertex, b, expected):
    got = interior_angle_deg(np.array([a], float), np.array([vertex], float), np.array([b], float))
    assert got[0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("facing", [1, -1])
def test_measure_recovers_known_angles_within_half_a_degree(facing):
    t = np.arange(0, 4, 1 / 30)
    trunk = 40 + 35 * np.sin(2 * np.pi * t / 4)
    knee = 150 + 25 * np.cos(2 * np.pi * t / 4)
    kin = measure(side_view_sequence(trunk, t, knee_deg=knee, facing=facing))
    # the low-pass filter (4 Hz) barely touches a 0.25 Hz motion
    assert np.max(np.abs(kin.trunk_inclination_deg - trunk)) < 0.5
    assert np.max(np.abs(kin.knee_angle_deg - knee)) < 0.5
