"""Synthetic clips: ground truth is self-consistent, generation is deterministic and fast, MediaPipe tracks it.

Each clip is rendered once per module (small sizes where the check does not need the sample's size)
and written under tmp_path only.
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest

from analyzer import synth
from analyzer.video import iter_frames, probe

SMALL_SIZE = (320, 180)
SMALL_SCRIPT = synth.DeadliftScript(reps=2)
MODEL = Path(__file__).resolve().parents[1] / "models" / "pose_landmarker_full.task"


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.GroundTruth]:
    path = tmp_path_factory.mktemp("synth_small") / "clip.mp4"
    return path, synth.render_clip(path, seed=3, size=SMALL_SIZE, script=SMALL_SCRIPT)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, synth.GroundTruth, float]:
    out = tmp_path_factory.mktemp("synth_sample")
    start = time.perf_counter()
    clip, truth_path = synth.make_sample_videos(out)
    seconds = time.perf_counter() - start
    return clip, synth.GroundTruth.load(truth_path), seconds


# --------------------------------------------------------------------------------- ground truth


def _trunk(hip: np.ndarray, shoulder: np.ndarray, facing: str) -> np.ndarray:
    """Independent restatement: hip->shoulder against image vertical (y down), + toward the facing side."""
    d = shoulder - hip
    sign = 1.0 if facing == "right" else -1.0
    return np.degrees(np.arctan2(sign * d[:, 0], -d[:, 1]))


def _interior(a: np.ndarray, v: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle a-v-b in degrees; atan2 of |cross| and dot stays accurate near 180 (arccos does not)."""
    u, w = a - v, b - v
    return np.degrees(np.arctan2(np.abs(u[:, 0] * w[:, 1] - u[:, 1] * w[:, 0]), np.sum(u * w, axis=1)))


@pytest.mark.parametrize(
    ("azimuth", "near", "facing"),
    [(90.0, "right", "right"), (-90.0, "left", "left")],
)
def test_angles_match_projected_points(tmp_path: Path, azimuth: float, near: str, facing: str) -> None:
    truth = synth.render_clip(tmp_path / "c.mp4", camera=synth.Camera(azimuth_deg=azimuth), size=SMALL_SIZE,
                              script=SMALL_SCRIPT)
    assert (truth.view["near_side"], truth.view["facing"]) == (near, facing)
    p = {k: truth.points(k) for k in ("shoulder", "hip", "knee", "ankle")}
    # Points are stored to 0.01 px: each end moves <= 0.005*sqrt(2) px, so a segment of L px turns by
    # <= 2 * 0.0071 / L rad, and an angle between two segments by twice that.
    shortest = min(float(np.linalg.norm(p[a] - p[b], axis=1).min())
                   for a, b in (("hip", "shoulder"), ("knee", "hip"), ("ankle", "knee")))
    tol = math.degrees(4 * 0.005 * math.sqrt(2) / shortest) + 1e-3
    cases = [
        ("trunk_inclination_deg", _trunk(p["hip"], p["shoulder"], facing)),
        ("hip_angle_deg", _interior(p["knee"], p["hip"], p["shoulder"])),
        ("knee_angle_deg", _interior(p["hip"], p["knee"], p["ankle"])),
    ]
    for name, recomputed in cases:
        err = np.abs(truth.series(name) - recomputed).max()
        assert err <= tol, f"{name}: stored vs recomputed from points differ by {err:.4f} > {tol:.4f} deg"
        # Side view: the image angle is the sagittal angle up to near/far joint perspective.
        sag = np.array([f.sagittal[name] for f in truth.frames])
        gap = np.abs(truth.series(name) - sag).max()
        assert gap <= 1.0, f"{name}: image vs sagittal differ by {gap:.3f} deg in a side view"


@pytest.mark.parametrize(
    ("phase", "name", "low", "high"),
    [
        ("setup", "trunk_inclination_deg", -0.5, 0.5),
        ("setup", "hip_angle_deg", 179.0, 180.0),
        ("setup", "knee_angle_deg", 179.5, 180.0),
        ("lockout", "trunk_inclination_deg", -0.5, 1.5),
        ("lockout", "knee_angle_deg", 178.0, 180.0),
        ("bottom", "trunk_inclination_deg", 60.0, 75.0),
        ("bottom", "knee_angle_deg", 110.0, 120.0),  # knees bent 60-70 deg
        ("bottom", "hip_angle_deg", 40.0, 60.0),
    ],
)
def test_phase_angles_in_range(
    small_clip: tuple[Path, synth.GroundTruth], phase: str, name: str, low: float, high: float
) -> None:
    _, truth = small_clip
    values = np.array([getattr(f, name) for f in truth.frames if f.phase == phase])
    if phase == "lockout":  # the hold, once the ascent has settled
        values = values[-5:]
    assert len(values) > 0
    assert low <= values.min() and values.max() <= high, f"{phase} {name}: {values.min():.2f}..{values.max():.2f}"


def test_rep_windows(small_clip: tuple[Path, synth.GroundTruth]) -> None:
    _, truth = small_clip
    reps = truth.reps
    assert [r.index for r in reps] == [1, 2]
    t = truth.t
    for r in reps:
        assert r.start_s < r.bottom_s < r.lockout_s < r.end_s
        assert math.isclose(r.start_s + r.eccentric_s + r.bottom_pause_s + r.concentric_s + r.lockout_hold_s,
                            r.end_s, abs_tol=1e-5)
        inside = (t >= r.start_s) & (t <= r.end_s)
        deepest = float(t[inside][np.argmax(truth.series("trunk_inclination_deg")[inside])])
        assert abs(deepest - r.bottom_s) <= r.bottom_pause_s / 2 + 1.0 / truth.fps, "deepest frame outside the pause"
        assert r.trunk_incline_max_deg == pytest.approx(truth.series("trunk_inclination_deg")[inside].max())
    for a, b in itertools.pairwise(reps):
        assert a.end_s == pytest.approx(b.start_s)
    assert t[-1] <= reps[-1].end_s < t[-1] + 1.0 / truth.fps
    labels = {(f.rep, f.phase) for f in truth.frames}
    assert (None, "setup") in labels
    for r in reps:
        assert {(r.index, p) for p in ("descent", "bottom", "ascent", "lockout")} <= labels


def test_json_schema(small_clip: tuple[Path, synth.GroundTruth]) -> None:
    path, truth = small_clip
    data = synth.ground_truth_path(path)
    assert data.name == "clip.json"
    loaded = synth.GroundTruth.load(data)
    assert loaded == truth
    raw = loaded.to_dict()
    assert {"generator", "fps", "size", "frames", "reps"} <= raw.keys()
    assert {"name", "version", "seed", "parameters"} <= raw["generator"].keys()
    assert raw["generator"]["seed"] == 3
    frame = raw["frames"][0]
    assert {"t", "trunk_inclination_deg", "hip_angle_deg", "knee_angle_deg", "points"} <= frame.keys()
    assert {"shoulder", "hip", "knee", "ankle", "wrist", "ear", "nose"} <= frame["points"].keys()
    assert {"index", "start_s", "bottom_s", "lockout_s", "end_s"} <= raw["reps"][0].keys()


# ------------------------------------------------------------------------------------- geometry


def test_bar_rides_the_legs_and_touches_the_floor() -> None:
    body, script = synth.Body(), synth.DeadliftScript(reps=1, jitter=0.0)
    motion = script.compile(body)
    bar, gaps = [], []
    for t in np.arange(0.0, motion.duration_s, 1.0 / 60.0):
        pose = motion.pose_at(float(t))
        sk = synth.forward_kinematics(pose, body)
        bar.append(sk.points["right_grip"][:2])
        top = pose.shin_deg - pose.knee_flexion_deg + pose.hip_flexion_deg
        gaps.append(float(synth.bar_clearance_m(pose, body, script.barbell, pose.shoulder_flexion_deg - top)[0]))
    bar_xy = np.array(bar)
    assert bar_xy[:, 1].min() == pytest.approx(script.barbell.plate_radius_m, abs=1e-3), "plates must reach the floor"
    # A near-vertical bar path over mid-foot, in contact with the legs (1 cm gap) the whole way.
    x_lo, x_hi = bar_xy[:, 0].min(), bar_xy[:, 0].max()
    assert x_lo >= 0.05 and x_hi <= 0.12, f"bar x {x_lo:.3f}..{x_hi:.3f} m from the ankle"
    assert min(gaps) >= 0.0099 and max(gaps) <= 0.0121, f"bar-leg gap {min(gaps):.4f}..{max(gaps):.4f} m"


def test_figure_fills_the_frame() -> None:
    body = synth.Body()
    view = synth.Camera().view((960, 540))
    sk = synth.forward_kinematics(synth.Pose(), body)
    top = sk.points["head"] + body.head_semi_axes_m[1] * sk.head_axes[1]
    xy, _ = view.project(np.stack([top, sk.points["right_heel"] * [1.0, 0.0, 1.0]]))  # head top, floor
    head_y, floor_y = xy[:, 1]
    fraction = (floor_y - head_y) / 540
    assert 0.60 <= fraction <= 0.75, f"standing figure spans {fraction:.0%} of the frame height"
    assert sk.points["head"][1] + body.head_semi_axes_m[1] == pytest.approx(1.75, abs=0.03)


# ------------------------------------------------------------------------------- determinism


def test_deterministic_for_a_seed(tmp_path: Path, small_clip: tuple[Path, synth.GroundTruth]) -> None:
    path, truth = small_clip
    again = synth.render_clip(tmp_path / "again.mp4", seed=3, size=SMALL_SIZE, script=SMALL_SCRIPT)
    assert again == truth
    first = [f.image for f in iter_frames(path)]
    second = [f.image for f in iter_frames(tmp_path / "again.mp4")]
    assert len(first) == len(second) == len(truth.frames)
    differing = sum(not np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert differing == 0, f"{differing} decoded frames differ between two renders of seed 3"
    other = synth.render_clip(tmp_path / "other.mp4", seed=4, size=SMALL_SIZE, script=SMALL_SCRIPT)
    assert other.reps != truth.reps, "another seed should vary the reps"


def test_decoded_timestamps_match_truth(small_clip: tuple[Path, synth.GroundTruth]) -> None:
    path, truth = small_clip
    times = np.array([f.t for f in iter_frames(path)])
    assert np.abs(times - truth.t).max() < 1e-3


# ------------------------------------------------------------------------------- sample clip


def test_sample_clip(sample: tuple[Path, synth.GroundTruth, float]) -> None:
    clip, truth, seconds = sample
    info = probe(clip)
    size = clip.stat().st_size
    assert size < 1_000_000, f"sample clip is {size / 1e6:.2f} MB"
    assert (info.width, info.height, info.codec) == (960, 540, "h264")
    assert info.nominal_fps == pytest.approx(30.0)
    assert 10.0 <= truth.frames[-1].t <= 12.0
    assert len(truth.reps) == 3
    assert truth.view["facing"] == "right"
    # Encoding dominates; the budget allows for a busy 2-core machine.
    assert seconds < 20.0, f"sample took {seconds:.1f} s to generate"


def test_drawing_speed() -> None:
    """Drawing alone (no codec) runs well above real time at 720p."""
    body, script = synth.Body(), synth.DeadliftScript()
    motion = script.compile(body)
    renderer = synth._Renderer(synth.Camera().view((1280, 720)), synth.Look(), body)
    times = np.arange(0.0, 3.0, 1.0 / 30.0)
    start = time.perf_counter()
    for t in times:
        renderer.draw(synth.forward_kinematics(motion.pose_at(float(t)), body), motion.barbell)
    fps = len(times) / (time.perf_counter() - start)
    assert fps >= 40.0, f"drawing ran at {fps:.0f} frames/s"


# --------------------------------------------------------------------------------- MediaPipe


@pytest.mark.slow
def test_mediapipe_tracks_the_sample(sample: tuple[Path, synth.GroundTruth, float]) -> None:
    mp = pytest.importorskip("mediapipe")
    from mediapipe.tasks.python import BaseOptions, vision

    clip, truth, _ = sample
    width, height = truth.size
    near = {"shoulder": 12, "hip": 24, "knee": 26, "ankle": 28}  # lifter's right faces the camera
    found = {k: np.full((len(truth.frames), 2), np.nan) for k in near}
    opts = vision.PoseLandmarkerOptions(base_options=BaseOptions(model_asset_path=str(MODEL)),
                                        running_mode=vision.RunningMode.VIDEO, num_poses=1)
    with vision.PoseLandmarker.create_from_options(opts) as landmarker:
        for frame in iter_frames(clip):
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.image))
            result = landmarker.detect_for_video(image, int(round(frame.t * 1000)))
            if result.pose_landmarks:
                lm = result.pose_landmarks[0]
                for k, i in near.items():
                    found[k][frame.index] = (lm[i].x * width, lm[i].y * height)
    detected = ~np.isnan(found["hip"][:, 0])
    assert detected.mean() >= 0.95, f"detected on {detected.mean():.1%} of frames"
    for k in near:
        err = float(np.nanmedian(np.linalg.norm(found[k] - truth.points(k), axis=1)))
        assert err <= 15.0, f"{k}: median {err:.1f} px from ground truth"
    trunk = _trunk(found["hip"], found["shoulder"], truth.view["facing"])
    mae = float(np.nanmean(np.abs(trunk - truth.series("trunk_inclination_deg"))))
    assert mae <= 3.0, f"trunk inclination MAE {mae:.2f} deg"
