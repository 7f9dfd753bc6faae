import numpy as np
import pytest

from analyzer.filtering import FilterOptions
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


# ---- the form-check measures, on a synthetic lifter of known geometry (tests.factories.lifter_sequence)

T = np.arange(0, 3, 1 / 30)


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize(
    ("trunk", "knee", "shin", "neck"),
    [
        (0.0, 180.0, 0.0, 0.0),  # standing tall
        (70.0, 120.0, 20.0, 0.0),  # conventional pull off the floor
        (45.0, 90.0, 30.0, 25.0),  # squatty pull, craning
        (80.0, 160.0, 5.0, -30.0),  # RDL, neck sagging
        (-12.0, 178.0, 0.0, 10.0),  # leaning back at lockout
    ],
)
def test_lifter_angles_within_half_a_degree(facing, trunk, knee, shin, neck):
    from tests.factories import lifter_sequence

    kin = measure(lifter_sequence(T, trunk_deg=trunk, knee_deg=knee, shin_deg=shin, neck_ext_deg=neck, facing=facing))
    hip = knee + shin - trunk
    hip = min(hip, 360 - hip)  # an interior angle: leaning back past straight reads as less than 180
    assert np.nanmax(np.abs(kin.trunk_lean_deg - trunk)) < 0.5
    assert np.nanmax(np.abs(kin.trunk_inclination_deg - abs(trunk))) < 0.5
    assert np.nanmax(np.abs(kin.hip_angle_deg - hip)) < 0.5
    assert np.nanmax(np.abs(kin.knee_angle_deg - knee)) < 0.5
    assert np.nanmax(np.abs(kin.neck_angle_deg - neck)) < 0.5
    assert np.nanmax(np.abs(kin.head_pitch_deg - neck)) < 0.5
    assert np.all(kin.facing == facing)
    # thorax point a third of the way down the trunk: (2/3) sin(lean) trunk lengths ahead of the pelvis
    assert np.nanmax(np.abs(kin.thorax_offset - 2 / 3 * np.sin(np.radians(trunk)))) < 1e-3
    if 180 - hip + 180 - knee > 0:
        share = (180 - hip) / ((180 - hip) + (180 - knee))
        assert np.nanmax(np.abs(kin.hip_share - share)) < 0.01


@pytest.mark.parametrize(("forward_px", "expected"), [(0.0, 0.0), (60.0, 0.3), (-40.0, -0.2)])
@pytest.mark.parametrize("facing", [1, -1])
def test_bar_drift_in_trunk_lengths_from_mid_foot(forward_px, expected, facing):
    from tests.factories import lifter_sequence

    kin = measure(lifter_sequence(T, trunk_deg=10 * np.sin(T), bar_forward_px=forward_px, facing=facing))
    assert np.nanmax(np.abs(kin.bar_drift - expected)) < 1e-3  # trunk length 200 px


@pytest.mark.parametrize(("wrist_px", "shin", "expected_bar", "expected_knee"),
                         [(100.0, 0.0, 0.5, 0.85), (300.0, 60.0, 1.5, 0.425)])
def test_bar_and_knee_height_in_trunk_lengths_above_the_ankle(wrist_px, shin, expected_bar, expected_knee):
    from tests.factories import lifter_sequence

    # trunk 200 px, shin 170 px: a knee straight above the ankle is 0.85 trunk lengths up, at 60 deg half that
    kin = measure(lifter_sequence(T, shin_deg=shin, knee_deg=180.0 - shin, wrist_height_px=wrist_px))
    assert kin.bar_height is not None and kin.knee_height is not None
    assert np.nanmax(np.abs(kin.bar_height - expected_bar)) < 1e-3
    assert np.nanmax(np.abs(kin.knee_height - expected_knee)) < 1e-3


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize(("trunk", "elbow"), [(0.0, 178.0), (0.0, 90.0), (70.0, 165.0), (10.0, 120.0)])
def test_elbow_angle_within_half_a_degree(facing, trunk, elbow):
    from tests.factories import lifter_sequence

    kin = measure(lifter_sequence(T, trunk_deg=trunk, elbow_deg=elbow, facing=facing))
    assert kin.elbow_angle_deg is not None and kin.arm_visibility is not None
    assert np.nanmax(np.abs(kin.elbow_angle_deg - elbow)) < 0.5
    assert np.all(kin.arm_visibility == 1.0)


@pytest.mark.parametrize(("height_m", "unit"), [(None, "body_lengths/s"), (1.75, "m/s")])
def test_bar_speed_units(height_m, unit):
    from tests.factories import lifter_sequence

    # trunk 200 + thigh 180 + shin 170 + neck 60 = 610 px of ankle-ear chain standing
    trunk = np.clip(60 * np.sin(np.pi * T / 3), 0, None)
    seq = lifter_sequence(T, trunk_deg=trunk)
    kin = measure(seq, height_m=height_m)
    assert kin.bar_speed_unit == unit
    wrist_y = seq.xy[:, 15, 1].astype(float)
    px_per_s = -np.gradient(wrist_y, T)
    scale = 1 / 610 if height_m is None else 1.75 * 0.88 / 610
    inner = slice(10, -10)  # the low-pass filter's edges
    assert np.max(np.abs(kin.bar_speed[inner] - px_per_s[inner] * scale)) < 0.02 * np.max(np.abs(px_per_s * scale))


def test_trunk_length_ratio_against_standing():
    from tests.factories import lifter_sequence

    seq = lifter_sequence(T, trunk_deg=np.where(T > 1.5, 60.0, 0.0))
    xy = seq.xy.copy()
    shrink = T > 2.0  # the shoulders slide 20 % toward the hips late in the clip
    for i in (11, 12):
        xy[shrink, i] = xy[shrink, 23] + 0.8 * (xy[shrink, i] - xy[shrink, 23])
    kin = measure(type(seq)(xy=xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=seq.t,
                            frame_size=seq.frame_size), FilterOptions(cutoff_hz=100.0))
    assert np.nanmedian(kin.trunk_length_ratio[T < 1.0]) == pytest.approx(1.0, abs=1e-3)
    assert np.nanmedian(kin.trunk_length_ratio[T > 2.2]) == pytest.approx(0.8, abs=1e-3)


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize("ratio", [0.0, 0.03, 0.08, -0.05])
@pytest.mark.parametrize("trunk", [45.0, 80.0])
def test_back_curvature_recovers_known_sagitta(facing, ratio, trunk):
    from tests.factories import lifter_sequence, with_back_outline

    seq = with_back_outline(lifter_sequence(T, trunk_deg=trunk, facing=facing), ratio, facing=facing)
    kin = measure(seq)
    assert np.nanmax(np.abs(kin.back_curvature - ratio)) < 1e-4


def test_back_curvature_reads_the_back_not_the_front():
    from tests.factories import lifter_sequence, with_back_outline

    seq = with_back_outline(lifter_sequence(T, trunk_deg=60.0, facing=1), 0.06, facing=-1)  # bow put in front
    assert np.nanmax(np.abs(measure(seq).back_curvature)) < 1e-4


def test_back_curvature_missing_ray_and_mask_jump():
    from tests.factories import lifter_sequence, with_back_outline

    area = np.full(len(T), 0.1)
    area[45:] = 0.2  # a cut: the mask doubles from frame 45
    seq = with_back_outline(lifter_sequence(T, trunk_deg=60.0), 0.05, mask_area=area)
    outline = seq.outline.copy()
    outline[10, 0, 4] = np.nan
    seq = type(seq)(xy=seq.xy, z=seq.z, visibility=seq.visibility, world=seq.world, t=seq.t,
                    frame_size=seq.frame_size, outline=outline, outline_fractions=seq.outline_fractions,
                    mask_area=area)
    kin = measure(seq)
    assert np.isnan(kin.back_curvature[10]) and np.isfinite(kin.back_curvature[11])
    assert kin.mask_area_jump[44] == pytest.approx(np.log(2)) and kin.mask_area_jump[45] == pytest.approx(np.log(2))
    assert kin.mask_area_jump[20] == 0.0
