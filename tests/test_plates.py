import json
import math

import cv2
import numpy as np
import pytest

from analyzer.plates import PlateTrack, accept_track, bar_speed_m_per_s, default_thresholds, find_plate
from tests.conftest import SAMPLE_VIDEOS

TH = default_thresholds()
TRUNK_PX = 160.0
WRIST = np.array([320.0, 250.0])


def frame_with_plate(centre: tuple[float, float] | None, radius: float, *, hide_lower_half: bool = False,
                     clutter: bool = True) -> np.ndarray:
    """A grey 640x480 frame with a dark plate (lighter hub), optional legs hiding its lower half, and
    round clutter that is not plate-sized."""
    img = np.full((480, 640), 170, np.uint8)
    if clutter:
        cv2.circle(img, (80, 80), 20, 60, -1)  # a small round thing: hub-sized, far from the hands
        cv2.rectangle(img, (500, 300), (620, 460), 90, -1)
    if centre is not None:
        c = (int(round(centre[0] * 4)), int(round(centre[1] * 4)))
        cv2.circle(img, c, int(round(radius * 4)), 35, -1, lineType=cv2.LINE_AA, shift=2)
        cv2.circle(img, c, int(round(radius * 0.25 * 4)), 150, -1, lineType=cv2.LINE_AA, shift=2)
    if hide_lower_half and centre is not None:
        cv2.rectangle(img, (int(centre[0] - 30), int(centre[1])), (int(centre[0] + 30), 480), 120, -1)
    return img


@pytest.mark.parametrize(
    ("name", "centre", "radius", "hide", "found"),
    [
        ("plate at the hands", (330.0, 300.0), 85.0, False, True),
        ("plate with the shins across it", (330.0, 300.0), 85.0, True, True),
        ("plate far from the hands: someone else's", (560.0, 120.0), 85.0, False, False),
        ("hub-sized disc at the hands", (330.0, 300.0), 30.0, False, False),
        ("no plate", None, 0.0, False, False),
    ],
)
def test_find_plate(name, centre, radius, hide, found):
    fix = find_plate(frame_with_plate(centre, radius, hide_lower_half=hide), WRIST, TRUNK_PX, TH)
    assert (fix is not None) == found, name
    if found:
        x, y, r = fix
        assert math.hypot(x - centre[0], y - centre[1]) < 2.0, (name, fix)
        assert abs(r - radius) / radius < 0.03, (name, fix)


def _track(radii: np.ndarray, fps: float = 30.0) -> PlateTrack:
    t = np.arange(len(radii)) / fps
    centre = np.stack([np.full(len(t), 300.0), 400.0 - 50 * t], axis=1)
    centre[np.isnan(radii)] = np.nan
    return accept_track(t, centre, radii, np.ones(len(t), bool), TH)


@pytest.mark.parametrize(
    ("name", "radii", "accepted", "reason_has"),
    [
        ("one plate, 1 % jitter", 90 * (1 + 0.01 * np.sin(np.arange(60))), True, "taken as 450 mm across"),
        ("hub-sized circles on a fifth of the frames are dropped", np.where(np.arange(60) % 5 == 0, 40.0, 90.0),
         True, "found on 80%"),
        ("found on a third of the frames", np.where(np.arange(60) % 3 == 0, 90.0, np.nan), False, "only 33%"),
        ("ellipses of an oblique view: sizes spread evenly over +-15 %",
         90 * (1 + np.random.default_rng(2).uniform(-0.15, 0.15, 60)), False, "vary in size"),
        ("never found", np.full(60, np.nan), False, "no plate found"),
    ],
)
def test_accept_track(name, radii, accepted, reason_has):
    track = _track(np.asarray(radii, float))
    assert track.accepted == accepted, (name, track.reason)
    assert reason_has in track.reason, (name, track.reason)
    if accepted:
        kept = track.radius[np.isfinite(track.radius)]
        assert track.metres_per_px == pytest.approx(0.225 / np.median(kept))
        assert np.all(np.abs(kept - 90) < 2)


def test_bar_speed_from_the_plate_centre():
    """A plate rising 0.5 m in 1 s with a sine speed profile (peak 0.785 m/s), radius 90 px (0.0025 m/px),
    with 1 px of fit jitter: the speed comes back with an RMS error under 0.03 m/s (measured 0.023; 0.006
    without jitter) and the peak within 0.03; a refused scale gives no speed."""
    fps = 30.0
    t = np.arange(0, 2.0, 1 / fps)
    rng = np.random.default_rng(1)
    rise_m = np.where(t < 0.5, 0, np.where(t > 1.5, 0.5, 0.25 * (1 - np.cos(np.pi * (t - 0.5)))))
    true_speed = np.where((t > 0.5) & (t < 1.5), 0.25 * np.pi * np.sin(np.pi * (t - 0.5)), 0.0)
    y = 500 - rise_m / 0.0025 + rng.normal(0, 1.0, len(t))
    centre = np.stack([np.full(len(t), 300.0), y], axis=1)
    track = accept_track(t, centre, np.full(len(t), 90.0), np.ones(len(t), bool), TH)
    speed = bar_speed_m_per_s(track)
    inner = (t > 0.2) & (t < 1.8)
    assert np.sqrt(np.nanmean((speed[inner] - true_speed[inner]) ** 2)) < 0.03
    assert np.nanmax(speed) == pytest.approx(0.785, abs=0.03)
    refused = accept_track(t, centre, np.full(len(t), np.nan), np.ones(len(t), bool), TH)
    assert np.isnan(bar_speed_m_per_s(refused)).all()


@pytest.mark.slow
def test_sample_clip_bar_speed_in_m_per_s_from_the_plate(tmp_path):
    """The generated sample: the plate's radius matches its projection and each rep's peak bar speed is within
    12 % of the generator's (measured 2026-11-27: -10 %, -3 %, +1 %; the fit misses the plate on ~14 % of the
    fastest ascent frames, which interpolation bridges a little low)."""
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.synth import ground_truth_path

    sample = SAMPLE_VIDEOS / "deadlift_side.mp4"
    report = analyze(sample, tmp_path / "out", AnalyzeOptions(exercise="deadlift", video=False)).report
    assert report.summary["bar_speed_unit"] == "m/s"
    assert "the plate's centre" in report.summary["bar_speed_source"]
    truth = json.loads(ground_truth_path(sample).read_text())
    cam = truth["generator"]["parameters"]["camera"]
    bar = truth["generator"]["parameters"]["script"]["barbell"]
    focal = 0.5 * truth["size"][1] / math.tan(math.radians(cam["vfov_deg"]) / 2)
    plate_depth = cam["distance_m"] - bar["collar_m"] - bar["plate_width_m"] / 2
    true_radius_px = focal * bar["plate_radius_m"] / plate_depth
    found_radius_px = float(report.summary["bar_speed_source"].split("radius ")[1].split(" px")[0])
    assert abs(found_radius_px - true_radius_px) / true_radius_px < 0.05
    t = np.array([f["t"] for f in truth["frames"]])
    rise = -np.array([f["points"]["bar"][1] for f in truth["frames"]]) / (focal / cam["distance_m"])
    from analyzer.filtering import lowpass

    true_speed = np.gradient(lowpass(t, rise, TH.cutoff_hz), t)
    for rep, true_rep in zip(report.reps, truth["reps"], strict=True):
        inside = (t >= true_rep["bottom_s"]) & (t <= true_rep["lockout_s"])
        true_peak = float(true_speed[inside].max())
        assert abs(rep.metrics["bar_speed_peak_m_per_s"] - true_peak) / true_peak < 0.12, (rep.index, true_peak)


def test_a_circle_found_elsewhere_for_a_frame_is_dropped():
    """As on a real clip: mid-pull, one frame's circle is the right size but 3 radii away (another plate). It
    is dropped, and the speed (0.5 m/s, 200 px/s at 0.0025 m/px) is not disturbed by it."""
    fps = 30.0
    t = np.arange(0, 2.0, 1 / fps)
    centre = np.stack([np.full(len(t), 300.0), 500.0 - 200.0 * t], axis=1)
    centre[30] += (-90.0, -200.0)
    track = accept_track(t, centre, np.full(len(t), 90.0), np.ones(len(t), bool), TH)
    assert np.isnan(track.centre[30]).all() and np.isfinite(track.centre[[29, 31]]).all()
    speed = bar_speed_m_per_s(track)
    assert np.nanmax(np.abs(speed[5:-5] - 0.5)) < 0.01


def test_the_path_is_not_joined_across_an_impossible_jump():
    """The plate sits still, then for two frames a circle 150 px (0.375 m) higher is taken for it across a
    0.13 s gap: 2.8 m/s, faster than any hinge moves a bar. The path is not joined across it, so no speed
    past the cap appears."""
    fps = 30.0
    t = np.arange(0, 2.0, 1 / fps)
    centre = np.stack([np.full(len(t), 640.0), np.full(len(t), 630.0)], axis=1)
    centre[40:43] = np.nan
    centre[43:45] = (710.0, 480.0)
    centre[45:48] = np.nan
    track = accept_track(t, centre, np.full(len(t), 90.0), np.ones(len(t), bool), TH)
    speed = bar_speed_m_per_s(track)
    assert np.nanmax(np.abs(speed)) < 0.05
    assert np.isnan(speed[40:48]).all()


@pytest.mark.parametrize(("seen_share", "reported"), [(1.0, True), (0.8, True), (0.5, False)])
def test_a_rep_peak_speed_needs_most_of_the_ascent_seen(seen_share, reported):
    from analyzer.kinematics import Kinematics
    from analyzer.pipeline import bar_speed_metrics
    from analyzer.reps import RepWindow

    t = np.arange(0, 3, 1 / 30)
    speed = np.sin(np.pi * t / 3)
    speed[int(30 * 3 * seen_share):] = np.nan
    kin = Kinematics(t=t, side="left", trunk_inclination_deg=t, hip_angle_deg=t, knee_angle_deg=t,
                     bar_speed=speed, bar_speed_unit="m/s")
    window = RepWindow(0, 0, len(t) - 1, len(t) - 1, 0.0, 0.0, float(t[-1]), float(t[-1]))
    peak = bar_speed_metrics(kin, window)["bar_speed_peak_m_per_s"]
    assert np.isfinite(peak) == reported


def test_a_track_rebuilt_from_what_a_cache_keeps_is_the_same_track():
    """plate.npz keeps every circle found; accepting them again must give the same scale and fixes (the checks
    must not run on already-filtered data)."""
    radii = np.where(np.arange(60) % 5 == 0, 40.0, 90 * (1 + 0.02 * np.sin(np.arange(60))))
    first = _track(radii)
    again = accept_track(first.t, first.found_centre, first.found_radius, first.searched, TH)
    assert first.accepted and again.metres_per_px == first.metres_per_px and again.reason == first.reason
    assert np.array_equal(again.radius, first.radius, equal_nan=True)
