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

from .conftest import SAMPLE_VIDEOS

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
    clip, truth_path = synth.make_sample_videos(out, stems=(synth.LEGACY_SAMPLE,))
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


# ------------------------------------------------------------------- generator 1.1: the samples


def test_legacy_sample_is_byte_identical(sample: tuple[Path, synth.GroundTruth, float]) -> None:
    """``hinge synth`` must reproduce the committed deadlift_side clip and ground truth exactly."""
    clip, _, _ = sample
    for suffix in (".mp4", ".json"):
        made = clip.with_suffix(suffix).read_bytes()
        committed = (SAMPLE_VIDEOS / f"{synth.LEGACY_SAMPLE}{suffix}").read_bytes()
        assert made == committed, f"{synth.LEGACY_SAMPLE}{suffix} no longer regenerates byte for byte"


@pytest.fixture(scope="module")
def new_samples(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], float]:
    out = tmp_path_factory.mktemp("synth_new_samples")
    start = time.perf_counter()
    synth.make_sample_videos(out, stems=[spec.stem for spec in synth.SAMPLES])
    seconds = time.perf_counter() - start
    return {spec.stem: out / f"{spec.stem}.mp4" for spec in synth.SAMPLES}, seconds


def test_new_samples(new_samples: tuple[dict[str, Path], float]) -> None:
    clips, seconds = new_samples
    total = sum(p.stat().st_size + synth.ground_truth_path(p).stat().st_size for p in clips.values())
    total += sum((SAMPLE_VIDEOS / f"{synth.LEGACY_SAMPLE}{s}").stat().st_size for s in (".mp4", ".json"))
    assert total < 3_000_000, f"sample set is {total / 1e6:.2f} MB"
    for stem, clip in clips.items():
        truth = synth.GroundTruth.load(synth.ground_truth_path(clip))
        assert 6.0 <= truth.frames[-1].t <= 11.0, stem
        assert truth.generator["version"] == "1.1"
        assert all(f.spine_flexion_deg is not None and f.neck_angle_deg is not None for f in truth.frames)
        # The committed copies match what the generator makes now.
        committed = SAMPLE_VIDEOS / clip.name
        assert committed.read_bytes() == clip.read_bytes(), f"{clip.name}: rerun `hinge synth -o sample_videos`"
    rounded = synth.GroundTruth.load(synth.ground_truth_path(clips["deadlift_rounded_side"]))
    assert [r.faults for r in rounded.reps] == [
        (), ({"fault": "spine_flexion", "size": 30.0, "unit": "deg", "peak_s": pytest.approx(rounded.reps[1].bottom_s,
                                                                                          abs=0.2)},), ()]
    rdl = synth.GroundTruth.load(synth.ground_truth_path(clips["rdl_45deg"]))
    assert (rdl.view["camera"], rdl.view["azimuth_deg"]) == ("oblique", 45.0)
    assert seconds < 60.0, f"three samples took {seconds:.1f} s"


# --------------------------------------------------------------------------------- faults

BODY4 = synth.SEGMENTED_BODY


def _truth(script: object, **kw: object) -> synth.GroundTruth:
    return synth.ground_truth(script=script, body=BODY4, size=SMALL_SIZE, fps=30.0, seed=7, **kw)  # type: ignore[arg-type]


def _bottom_frame(truth: synth.GroundTruth, rep: int) -> synth.FrameTruth:
    r = truth.reps[rep - 1]
    return min(truth.frames, key=lambda f: abs(f.t - r.bottom_s))


@pytest.mark.parametrize("flexion", [10.0, 20.0, 30.0, 45.0])
def test_spine_flexion_ground_truth(flexion: float) -> None:
    clean = _truth(synth.DeadliftScript(reps=2))
    bent = _truth(synth.DeadliftScript(reps=2, faults=(synth.InjectedFault("spine_flexion", flexion, reps=(2,)),)))
    b = _bottom_frame(bent, 2)
    assert b.spine_flexion_deg == pytest.approx(flexion, abs=1e-3)
    assert all(f.spine_flexion_deg == pytest.approx(0.0, abs=1e-9) for f in bent.frames if f.rep != 2)
    # Flexion spread evenly over 3 joints of 4 equal segments puts the spine points on a circular arc
    # turning 4/3 of the flexion: sagitta / chord = tan(arc / 4) / 2.
    n = len(BODY4.spine_fractions)
    expected = math.tan(math.radians(n * flexion / (n - 1) / 4.0)) / 2.0
    assert b.sagittal["spine_axis_curvature"] == pytest.approx(expected, abs=2e-5)
    # The drawn back bows out by about as much (its outline is the arc offset by the torso's radius).
    c = _bottom_frame(clean, 2)
    for key, got, base in (("image", b.spine_curvature, c.spine_curvature),
                           ("sagittal", b.sagittal["spine_curvature"], c.sagittal["spine_curvature"])):
        assert got is not None and base is not None
        assert 0.55 * expected <= got - base <= 1.1 * expected, f"{key}: outline bow {got - base:.4f} vs {expected:.4f}"
    # The hip->shoulder chord keeps the scripted angle; the bar still reaches the floor.
    assert b.sagittal["trunk_inclination_deg"] == pytest.approx(c.sagittal["trunk_inclination_deg"], abs=1e-3)
    assert b.points["bar"][1] == pytest.approx(c.points["bar"][1], abs=0.5)


def test_spine_curvature_grows_with_flexion() -> None:
    values = []
    for flexion in (0.0, 15.0, 30.0, 45.0):
        faults = (synth.InjectedFault("spine_flexion", flexion),) if flexion else ()
        values.append(_bottom_frame(_truth(synth.DeadliftScript(reps=1, faults=faults)), 1).spine_curvature)
    assert values == sorted(values) and len(set(values)) == 4, values


@pytest.mark.parametrize("lean", [5.0, 10.0, 15.0])
def test_lean_back_at_lockout(lean: float) -> None:
    clean = _truth(synth.DeadliftScript(reps=2))
    fault = _truth(synth.DeadliftScript(reps=2, faults=(synth.InjectedFault("lean_back", lean, reps=(1,)),)))
    r = fault.reps[0]
    held = [i for i, f in enumerate(fault.frames)
            if f.rep == 1 and f.phase == "lockout" and 0.4 <= (f.t - r.lockout_s) / r.lockout_hold_s <= 0.65]
    assert held
    for i in held:
        d_img = fault.frames[i].trunk_inclination_deg - clean.frames[i].trunk_inclination_deg
        d_sag = fault.frames[i].sagittal["trunk_inclination_deg"] - clean.frames[i].sagittal["trunk_inclination_deg"]
        assert d_img == pytest.approx(-lean, abs=0.5)
        assert d_sag == pytest.approx(-lean, abs=1e-3)
    assert all(f.trunk_inclination_deg > -1.0 for f in fault.frames if f.rep == 2), "rep 2 is clean"


def test_neck_extension() -> None:
    clean = _truth(synth.DeadliftScript(reps=1))
    fault = _truth(synth.DeadliftScript(reps=1, faults=(synth.InjectedFault("neck_extension", 20.0),)))
    b, c = _bottom_frame(fault, 1), _bottom_frame(clean, 1)
    assert b.sagittal["neck_flexion_deg"] - c.sagittal["neck_flexion_deg"] == pytest.approx(-20.0, abs=1e-3)
    assert b.neck_angle_deg is not None and c.neck_angle_deg is not None
    assert b.neck_angle_deg < c.neck_angle_deg - 5.0, "the ear moves back against the trunk line"
    assert b.trunk_inclination_deg == pytest.approx(c.trunk_inclination_deg, abs=1e-6)


@pytest.mark.parametrize("script_cls", [synth.DeadliftScript, synth.RDLScript])
@pytest.mark.parametrize("rise", [10.0, 25.0])
def test_hips_rise_early(script_cls: type, rise: float) -> None:
    """The hips shoot up: early in the ascent the trunk tips ``rise`` deg past its angle at the bottom
    while the knees extend, then comes up; a clean ascent never tips past the bottom."""

    def ascent(truth: synth.GroundTruth) -> list[synth.FrameTruth]:
        r = truth.reps[0]
        return [f for f in truth.frames if r.lockout_s - r.concentric_s <= f.t <= r.lockout_s]

    fault = _truth(script_cls(reps=1, jitter=0.0, faults=(synth.InjectedFault("hips_rise_early", rise),)))
    clean = _truth(script_cls(reps=1, jitter=0.0))
    for truth, expected in ((fault, rise), (clean, 0.0)):
        b = _bottom_frame(truth, 1).sagittal
        frames = ascent(truth)
        tipped = max(f.sagittal["trunk_inclination_deg"] for f in frames) - b["trunk_inclination_deg"]
        assert tipped == pytest.approx(expected, abs=0.1)
    peak = max(ascent(fault), key=lambda f: f.sagittal["trunk_inclination_deg"])
    b = _bottom_frame(fault, 1).sagittal
    if script_cls is synth.DeadliftScript:  # an RDL's knees stay soft throughout
        assert peak.sagittal["knee_angle_deg"] - b["knee_angle_deg"] > 0.5 * (180.0 - b["knee_angle_deg"]), \
            "the knees have done most of their extension while the trunk tipped"
    assert fault.reps[0].faults is not None and fault.reps[0].faults[0]["fault"] == "hips_rise_early"
    assert fault.reps[0].faults[0]["peak_s"] == pytest.approx(peak.t, abs=0.05)


def test_hips_rise_early_is_capped() -> None:
    with pytest.raises(ValueError, match="at most"):
        synth.DeadliftScript(reps=1, faults=(synth.InjectedFault("hips_rise_early", 50.0),)).compile(BODY4)


@pytest.mark.parametrize("drift", [0.03, 0.08])
def test_bar_drift(drift: float) -> None:
    script = synth.DeadliftScript(reps=1, jitter=0.0, faults=(synth.InjectedFault("bar_drift", drift),))
    motion = script.compile(BODY4)
    gaps = []
    for t in np.arange(motion.reps[0].start_s, motion.reps[0].end_s, 1.0 / 120.0):
        pose = motion.pose_at(float(t))
        top = pose.shin_deg - pose.knee_flexion_deg + pose.hip_flexion_deg + sum(pose.spine_flexion_deg)
        gaps.append(float(synth.bar_clearance_m(pose, BODY4, script.barbell, pose.shoulder_flexion_deg - top)[0]))
    assert max(gaps) == pytest.approx(0.01 + drift, abs=1e-3)
    clean = _truth(synth.DeadliftScript(reps=1, jitter=0.0))
    fault = _truth(script)
    shift = max(a.sagittal["bar_x_m"] - b.sagittal["bar_x_m"] for a, b in zip(fault.frames, clean.frames, strict=True))
    assert drift <= shift <= 2.0 * drift, f"bar moved {shift:.3f} m forward"


def test_parse_fault_and_errors() -> None:
    assert synth.parse_fault("spine_flexion:30@2,3") == synth.InjectedFault("spine_flexion", 30.0, (2, 3))
    assert synth.parse_fault("bar_drift:0.05").reps == ()
    for bad in ("spine_flexion", "twist:3", "lean_back:-2", "lean_back:5@0"):
        with pytest.raises(ValueError):
            synth.parse_fault(bad)
    with pytest.raises(ValueError, match="spine_fractions"):
        synth.ground_truth(script=synth.DeadliftScript(reps=1, faults=(synth.InjectedFault("spine_flexion", 10),)))
    with pytest.raises(ValueError, match=r"schema 1\.1"):
        synth.render_clip(Path("unused.mp4"), script=synth.RDLScript(), schema="1.0")


# -------------------------------------------------------------------------------- exercises


def _sag(truth: synth.GroundTruth, phase: str, name: str) -> np.ndarray:
    return np.array([f.sagittal[name] for f in truth.frames if f.phase == phase])


@pytest.mark.parametrize(
    ("exercise", "trunk", "knee"),
    [
        ("deadlift", (60.0, 72.0), (105.0, 120.0)),
        ("rdl", (85.0, 110.0), (160.0, 166.0)),  # soft knees, 15-20 deg of bend
        ("good_morning", (74.0, 86.0), (162.0, 166.0)),
        ("kb_swing", (56.0, 68.0), (150.0, 158.0)),
        ("squat", (32.0, 45.0), (58.0, 66.0)),  # upright trunk, deep knees: a negative for the hinge rules
    ],
)
def test_exercise_bottoms(exercise: str, trunk: tuple[float, float], knee: tuple[float, float]) -> None:
    truth = _truth(synth.script_for(exercise, reps=2))
    for r in truth.reps:
        inside = [f for f in truth.frames if f.rep == r.index]
        deepest = max(inside, key=lambda f: f.sagittal["trunk_inclination_deg"])
        assert trunk[0] <= deepest.sagittal["trunk_inclination_deg"] <= trunk[1], exercise
        low_knee = min(f.sagittal["knee_angle_deg"] for f in inside)
        assert knee[0] <= low_knee <= knee[1], f"{exercise}: knee {low_knee:.1f}"
    standing = [f for f in truth.frames if f.phase == "setup"]
    assert all(abs(f.sagittal["trunk_inclination_deg"]) < 0.5 for f in standing)


def test_rdl_bar_to_mid_shin_without_floor_contact() -> None:
    script = synth.RDLScript(reps=2, jitter=0.0)
    motion = script.compile(BODY4)
    bar_y = [synth.forward_kinematics(motion.pose_at(float(t)), BODY4).points["right_grip"][1]
             for t in np.arange(0.0, motion.duration_s, 1.0 / 60.0)]
    assert min(bar_y) == pytest.approx(script.bar_bottom_m, abs=0.01)
    assert min(bar_y) - script.barbell.plate_radius_m > 0.03, "plates stay off the floor"


def test_good_morning_bar_on_the_back() -> None:
    motion = synth.GoodMorningScript(reps=1).compile(BODY4)
    for t in (0.0, motion.reps[0].bottom_s):
        sk = synth.forward_kinematics(motion.pose_at(t), BODY4)
        p = sk.points
        bar = p["right_grip"]
        assert np.linalg.norm(bar[:2] - p["spine_4"][:2]) < 0.15, "bar rides the upper back"
        assert abs(bar[2]) == pytest.approx(synth.BACK_BAR_GRIP_HALF_WIDTH_M)
        for side in ("left", "right"):  # arm segments keep their lengths
            assert np.linalg.norm(p[f"{side}_elbow"] - p[f"{side}_shoulder"]) == pytest.approx(BODY4.upper_arm_m)


def test_kettlebell_swing_cadence_and_height() -> None:
    script = synth.KettlebellSwingScript(reps=4)
    motion = script.compile(BODY4, seed=2)
    durations = [r.end_s - r.start_s for r in motion.reps]
    assert all(1.3 <= d <= 1.6 for d in durations), durations
    tops = []
    for r in motion.reps:
        ts = np.linspace(r.lockout_s, r.end_s, 30)
        tops.append(max(synth.forward_kinematics(motion.pose_at(float(t)), BODY4).points["right_grip"][1] for t in ts))
    assert all(1.2 <= h <= 1.45 for h in tops), f"bell at the top of the float: {tops}"


# ---------------------------------------------------------------------------------- cameras


@pytest.mark.parametrize(("view", "kind"), [("oblique", "oblique"), ("front", "front"), ("side_left", "side")])
def test_other_cameras(view: str, kind: str) -> None:
    truth = _truth(synth.script_for("deadlift", reps=1), camera=synth.Camera(azimuth_deg=synth.VIEWS[view]))
    assert truth.view["camera"] == kind
    p = {k: truth.points(k) for k in ("shoulder", "hip", "knee", "ankle")}
    recomputed = _trunk(p["hip"], p["shoulder"], truth.view["facing"])
    assert np.abs(truth.series("trunk_inclination_deg") - recomputed).max() < 0.05
    assert np.abs(truth.series("knee_angle_deg") - _interior(p["hip"], p["knee"], p["ankle"])).max() < 0.05
    curv = [f.spine_curvature for f in truth.frames]
    assert all(c is None for c in curv) if kind == "front" else all(c is not None for c in curv)
    sag = np.array([f.sagittal["trunk_inclination_deg"] for f in truth.frames])
    gap = float(np.abs(truth.series("trunk_inclination_deg") - sag).max())
    if kind == "side":
        assert gap < 1.0
    else:  # the image no longer shows the sagittal angle: that is what the accuracy study measures
        assert gap > 5.0


def test_noise_is_seeded(tmp_path: Path) -> None:
    kw = {"script": synth.SquatScript(reps=1, lead_in_s=0.2), "body": BODY4, "size": SMALL_SIZE, "noise_sd": 8.0}
    a = synth.render_clip(tmp_path / "a.mp4", seed=1, **kw)  # type: ignore[arg-type]
    b = synth.render_clip(tmp_path / "b.mp4", seed=1, **kw)  # type: ignore[arg-type]
    assert a == b
    first = [f.image for f in iter_frames(tmp_path / "a.mp4")]
    second = [f.image for f in iter_frames(tmp_path / "b.mp4")]
    # The noise is seeded; libx264 via analyzer.video (the default "writer" encoder) did not encode noisy frames
    # bit for bit twice here (its macroblock-tree rate control; the "fast" encoder turns that off and repeats
    # bytes: test_same_seed_same_bytes_other_seed_other_bytes), so decoded frames are compared within 3 grey levels.
    assert len(first) == len(second)
    pairs = zip(first, second, strict=True)
    diff = max(float(np.abs(x.astype(np.int16) - y.astype(np.int16)).mean()) for x, y in pairs)
    assert diff < 3.0, f"decoded frames differ by {diff:.2f} grey levels on average"
    assert synth.GroundTruth.load(tmp_path / "a.json") == a


def test_ground_truth_speed() -> None:
    """Ground truth of a 10 s clip (curvature ray casts included) takes well under the encode time."""
    start = time.perf_counter()
    synth.ground_truth(script=synth.DeadliftScript(reps=3), body=BODY4, size=(1280, 720))
    seconds = time.perf_counter() - start
    assert seconds < 4.0, f"ground truth of ~11 s took {seconds:.1f} s"


@pytest.mark.slow
def test_mediapipe_tracks_new_samples(new_samples: tuple[dict[str, Path], float]) -> None:
    """The project's own pose path finds the figure on >= 95 % of the frames of every new sample."""
    pytest.importorskip("mediapipe")
    from analyzer.kinematics import measure
    from analyzer.pose import estimate

    clips, _ = new_samples
    for stem, clip in clips.items():
        info = probe(clip)
        seq = estimate(iter_frames(clip), (info.width, info.height))
        found = ~np.isnan(seq.xy[:, [23, 24], 0]).all(axis=1)
        assert found.mean() >= 0.95, f"{stem}: found on {found.mean():.1%} of frames"
        truth = synth.GroundTruth.load(synth.ground_truth_path(clip))
        kin = measure(seq)
        n = min(len(kin.trunk_inclination_deg), len(truth.frames))
        true_trunk = np.abs(truth.series("trunk_inclination_deg")[:n])
        mae = float(np.nanmean(np.abs(kin.trunk_inclination_deg[:n] - true_trunk)))
        assert mae <= 6.0, f"{stem}: trunk MAE {mae:.1f} deg"


# ------------------------------------------------------------- walk-in, set-up, rests (issue 4)

BEFORE_REPS = {"walk_in", "setup"}


@pytest.mark.parametrize(
    ("exercise", "walk_in", "setup", "rest"),
    [
        ("deadlift", 2.5, 1.0, 0.8),  # floor set-up: hinges to the bar and holds before the first pull
        ("deadlift", 0.0, 1.5, 0.0),
        ("rdl", 2.0, 0.6, 1.0),
        ("good_morning", 1.5, 0.5, 0.5),
        ("kb_swing", 1.5, 0.4, 0.0),
    ],
)
def test_walk_in_setup_and_rest_frames_are_not_reps(exercise: str, walk_in: float, setup: float, rest: float) -> None:
    script = synth.script_for(exercise, reps=3, walk_in_s=walk_in, setup_s=setup, rest_s=rest)
    truth = _truth(script)
    reps = truth.reps
    assert [r.index for r in reps] == [1, 2, 3]
    first = reps[0].start_s
    assert first >= walk_in + script.lead_in_s + (0.0 if exercise == "deadlift" else setup) - 1e-6
    before = [f for f in truth.frames if f.t < first - 1e-6]
    assert before and all(f.rep is None and f.phase in BEFORE_REPS for f in before)
    assert sum(f.phase == "walk_in" for f in before) == pytest.approx(walk_in * truth.fps, abs=1.0)
    for a, b in itertools.pairwise(reps):
        gap = [f for f in truth.frames if a.end_s + 1e-6 < f.t < b.start_s - 1e-6]
        assert b.start_s - a.end_s == pytest.approx(rest, abs=1e-6)
        assert all(f.rep is None and f.phase == "rest" for f in gap)
        assert len(gap) == pytest.approx(rest * truth.fps, abs=1.0)
    for r in reps:
        inside = [f for f in truth.frames if r.start_s <= f.t < r.end_s]
        assert inside and all(f.rep == r.index for f in inside)
    if walk_in:
        # The lifter walks in from the camera's left and stops at the lift position (side view: image x).
        hip_x = truth.points("hip")[:, 0]
        px_per_m = abs(hip_x[-1] - truth.points("hip")[0, 0]) / synth._Walk(walk_in).distance_m
        view = synth.Camera().view(SMALL_SIZE)
        expected = view.focal / (view.origin[2] - synth.SEGMENTED_BODY.hip_half_width_m)
        assert px_per_m == pytest.approx(expected, rel=0.05)
        walking = np.array([f.phase == "walk_in" for f in truth.frames])
        assert np.all(np.diff(hip_x[walking]) >= 0), "the walk goes one way"
        knee = truth.series("knee_angle_deg")[walking]
        assert knee.min() < 150.0, "the legs stride (the swinging knee bends)"


def test_floor_setup_first_rep_is_the_pull() -> None:
    script = synth.DeadliftScript(reps=2, walk_in_s=2.0, setup_s=1.2)
    truth = _truth(script)
    rep1, rep2 = truth.reps
    assert (rep1.eccentric_s, rep1.bottom_pause_s) == (0.0, 0.0) and rep1.start_s == rep1.bottom_s
    assert rep2.eccentric_s > 0
    # The set-up holds the bottom: trunk at depth for setup_s, with no rep.
    setup = [f for f in truth.frames if f.phase == "setup"]
    held = [f for f in setup if (f.trunk_inclination_deg, f.knee_angle_deg) == (setup[-1].trunk_inclination_deg,
                                                                               setup[-1].knee_angle_deg)]
    assert len(held) / truth.fps == pytest.approx(1.2, abs=1.5 / truth.fps)
    assert setup[-1].trunk_inclination_deg == pytest.approx(rep1.trunk_incline_max_deg, abs=0.5)
    motion = script.compile(BODY4, 7)
    bar_on_floor = motion.bar_at(0.5)
    assert bar_on_floor is not None and bar_on_floor[1] == pytest.approx(script.barbell.plate_radius_m, abs=0.005)
    assert motion.bar_at(rep1.start_s + 0.1) is None  # in the hands from the grip on
    # The ground truth's bar point lies still on the floor until the grip, then rides in the hands.
    on_floor = np.array([f.t < rep1.start_s - 1.2 for f in truth.frames])
    bar = truth.points("bar")
    assert np.ptp(bar[on_floor], axis=0).max() < 0.01
    assert np.abs(bar[~on_floor][0] - bar[on_floor][-1]).max() < 1.0  # picked up where it lay (within 1 px)
    assert bar[-1, 1] < bar[0, 1] - 20.0, "lifted at lockout"


@pytest.mark.parametrize(
    ("exercise", "rules", "walk_in", "setup", "rest"),
    [
        ("deadlift", "deadlift", 0.0, 0.0, 0.0),
        ("deadlift", "deadlift", 2.5, 1.0, 0.8),
        ("deadlift", "deadlift", 0.0, 2.0, 1.5),
        ("rdl", "rdl", 2.0, 0.8, 1.0),
        ("good_morning", "good_morning", 2.0, 0.5, 0.0),
    ],
)
def test_setup_is_not_counted_as_a_rep_on_the_ground_truth(exercise: str, rules: str, walk_in: float, setup: float,
                                                           rest: float) -> None:
    from analyzer.reps import segment_reps, thresholds_from_rules
    from analyzer.rules import load_rules

    truth = _truth(synth.script_for(exercise, reps=3, walk_in_s=walk_in, setup_s=setup, rest_s=rest))
    trunk = np.abs(truth.series("trunk_inclination_deg"))  # the pipeline's trunk angle is unsigned
    found = segment_reps(truth.t, trunk, thresholds_from_rules(load_rules(rules)),
                         hip_flexion_deg=180.0 - truth.series("hip_angle_deg"))
    assert len(found) == len(truth.reps) == 3
    lockouts = np.array([w.lockout_s for w in found])
    assert np.abs(lockouts - [r.lockout_s for r in truth.reps]).max() <= 0.5, lockouts


def test_default_scripts_write_no_new_fields() -> None:
    """Walk-in, set-up, rest and scene only appear in the ground truth when used (older files stay as they were)."""
    plain = _truth(synth.DeadliftScript(reps=1)).generator["parameters"]
    assert not {"walk_in_s", "setup_s", "rest_s"} & plain["script"].keys() and "scene" not in plain
    used = _truth(synth.DeadliftScript(reps=1, walk_in_s=1.0), scene=synth.Scene(background="gym")).generator
    assert used["parameters"]["script"]["walk_in_s"] == 1.0
    assert used["parameters"]["scene"]["background"] == "gym"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"walk_in_s": -1.0}, "non-negative"),
        ({"setup_s": -0.5}, "non-negative"),
    ],
)
def test_bad_timing_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        synth.DeadliftScript(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rest"):
        synth.KettlebellSwingScript(rest_s=1.0)


# --------------------------------------------------------------------- scene options (issue 4)


@pytest.mark.parametrize("sd", [4.0, 8.0, 16.0])
def test_sensor_noise_sigma_on_a_flat_patch(sd: float) -> None:
    flat = np.full((120, 160, 3), 128, np.uint8)
    noisy = synth.sensor_noise(flat, sd, np.random.default_rng(0))
    measured = float((noisy.astype(np.float64) - 128.0).std())
    assert measured == pytest.approx(sd, rel=0.2), f"sd {sd}: measured {measured:.2f}"


@pytest.mark.parametrize("sd", [8.0])
def test_sensor_noise_in_the_decoded_clip(tmp_path: Path, sd: float) -> None:
    """Lossless encode (crf 0): the wall's luma noise between two frames matches the RGB noise through BT.601."""
    import av

    path = tmp_path / "n.mp4"
    script = synth.DeadliftScript(reps=1, lead_in_s=0.4, descent_s=0.3, ascent_s=0.3, pause_s=0.0, hold_s=0.1)
    synth.render_clip(path, script=script, size=SMALL_SIZE, noise_sd=sd, crf=0, scene=synth.Scene(encoder="fast"))
    with av.open(str(path)) as container:
        lumas = [np.asarray(f.to_ndarray(format="yuv420p"))[:SMALL_SIZE[1]].astype(np.float64)
                 for f in itertools.islice(container.decode(video=0), 2)]
    patch = (slice(5, 40), slice(5, 80))  # wall, top left: no figure
    measured = float((lumas[1][patch] - lumas[0][patch]).std() / math.sqrt(2.0))
    expected = sd * math.sqrt(0.299**2 + 0.587**2 + 0.114**2) * 219.0 / 255.0  # limited-range luma
    assert measured == pytest.approx(expected, rel=0.2), f"luma noise {measured:.2f}, expected {expected:.2f}"


def _frame(scene: synth.Scene, size: tuple[int, int] = (480, 270), t: float = 0.4,
           camera: synth.Camera | None = None) -> tuple[np.ndarray, synth.GroundTruth]:
    """One rendered frame (the writer's input, before the codec) and the clip's ground truth."""
    script = synth.DeadliftScript(reps=1)
    renderer = synth._Renderer((camera or synth.Camera()).view(size), scene.look(), BODY4, scene.background, 0)
    motion = script.compile(BODY4)
    image = renderer.draw(synth.forward_kinematics(motion.pose_at(t), BODY4), motion.barbell)
    kernel = scene.blur_kernel()
    if kernel is not None:
        image = synth.blur_image(image, kernel)
    truth = synth.ground_truth(script=script, body=BODY4, size=size, camera=camera, scene=scene)
    return image, truth


def _gradients(image: np.ndarray) -> tuple[float, float]:
    grey = image.astype(np.float64).mean(axis=2)
    return float(np.abs(np.diff(grey, axis=1)).mean()), float(np.abs(np.diff(grey, axis=0)).mean())


def _edge_width(profile: np.ndarray) -> float:
    """10-90 % rise distance (px) of a monotonic step profile from 0 to 255, by linear interpolation."""
    x = np.arange(len(profile), dtype=np.float64)
    p = profile.astype(np.float64) / 255.0
    return float(np.interp(0.9, p, x) - np.interp(0.1, p, x))


# Expected 10-90 % widths of a sharp step: a horizontal streak of length L spreads a vertical edge evenly
# (0.8 L) and leaves a horizontal one sharp; a disc of diameter D has a semicircle profile across any edge,
# whose 10 % and 90 % points sit at -/+0.6087 of the radius (0.6087 D).
@pytest.mark.parametrize(
    ("kind", "px", "across_x", "across_y"),
    [
        ("defocus", 4.0, 0.6087 * 4.0, 0.6087 * 4.0),
        ("defocus", 10.0, 0.6087 * 10.0, 0.6087 * 10.0),
        ("motion", 10.0, 0.8 * 10.0, 0.0),
        ("motion", 20.0, 0.8 * 20.0, 0.0),
    ],
)
def test_blur_widens_edges(kind: str, px: float, across_x: float, across_y: float) -> None:
    kernel = synth.Scene(blur_px=px, blur_kind=kind).blur_kernel()
    assert kernel is not None and kernel.sum() == pytest.approx(1.0, abs=1e-5)
    step = np.zeros((81, 81, 3), np.uint8)
    step[:, 40:] = 255
    x_width = _edge_width(synth.blur_image(step, kernel)[40, :, 0])
    y_width = _edge_width(synth.blur_image(np.ascontiguousarray(step.transpose(1, 0, 2)), kernel)[:, 40, 0])
    # An unblurred step measures 0.8 px (one pixel's jump): the tolerance is that pixel.
    assert x_width == pytest.approx(max(across_x, 0.8), abs=1.0), f"{kind} {px}: across x {x_width:.2f} px"
    assert y_width == pytest.approx(max(across_y, 0.8), abs=1.0), f"{kind} {px}: across y {y_width:.2f} px"


@pytest.mark.parametrize(("kind", "px"), [("defocus", 6.0), ("motion", 10.0)])
def test_blur_on_a_rendered_frame(kind: str, px: float) -> None:
    """Blur keeps brightness and lowers the figure's edges; a horizontal streak lowers mostly horizontal ones."""
    sharp, _ = _frame(synth.Scene())
    blurred, _ = _frame(synth.Scene(blur_px=px, blur_kind=kind))
    gx0, gy0 = _gradients(sharp)
    gx1, gy1 = _gradients(blurred)
    assert gx1 < gx0 and gy1 <= gy0
    assert abs(float(blurred.mean()) - float(sharp.mean())) < 1.0
    ratio = (gx1 / gx0) / (gy1 / gy0)
    assert (ratio < 0.8) if kind == "motion" else (0.8 < ratio < 1.25), f"{kind}: x/y gradient ratio {ratio:.2f}"


def test_backgrounds_differ_and_the_gym_is_cluttered() -> None:
    frames = {bg: _frame(synth.Scene(background=bg))[0] for bg in synth.BACKGROUNDS}
    edges = {}
    for bg, image in frames.items():
        gx, gy = _gradients(image)
        edges[bg] = gx + gy
    for a, b in itertools.combinations(synth.BACKGROUNDS, 2):
        diff = float(np.abs(frames[a].astype(np.int16) - frames[b].astype(np.int16)).mean())
        assert diff > 10.0, f"{a} vs {b}: mean difference {diff:.1f} grey levels"
    assert edges["gym"] > 1.5 * edges["plain"], edges


@pytest.mark.parametrize("outfit", list(synth.OUTFITS))
def test_outfit_colours_the_shirt(outfit: str) -> None:
    image, truth = _frame(synth.Scene(outfit=outfit), t=0.2)
    frame = truth.frames[6]  # t = 0.2: standing
    chest = 0.3 * np.array(frame.points["hip"]) + 0.7 * np.array(frame.points["shoulder"])
    x, y = (int(round(v)) for v in chest)
    patch = image[y - 2:y + 3, x - 10:x - 5].reshape(-1, 3).astype(np.float64).mean(axis=0)  # behind the arm
    distances = {name: float(np.linalg.norm(patch - np.array(shirt))) for name, (shirt, _) in synth.OUTFITS.items()}
    assert min(distances, key=distances.__getitem__) == outfit, distances


def test_variable_frame_rate_timestamps_match_ground_truth(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    truth = synth.render_clip(path, script=SMALL_SCRIPT, size=SMALL_SIZE, seed=5,
                              scene=synth.Scene(vfr_jitter=0.3, encoder="fast"))
    times = np.array([f.t for f in iter_frames(path)])
    assert len(times) == len(truth.frames)
    assert np.abs(times - truth.t).max() < 1e-3
    steps = np.diff(truth.t)
    assert steps.std() / steps.mean() > 0.15, "irregular intervals"
    assert steps.min() >= 0.5 / 30.0 - 1e-4 and steps.max() <= 2.0 / 30.0 + 1e-4
    assert truth.t[-1] <= truth.reps[-1].end_s
    # Angles follow the true times: the deepest frame of each rep sits in its scripted floor pause.
    for r in truth.reps:
        inside = [f for f in truth.frames if r.start_s <= f.t <= r.end_s]
        deepest = max(inside, key=lambda f: f.trunk_inclination_deg)
        assert abs(deepest.t - r.bottom_s) <= r.bottom_pause_s / 2 + 2.0 / 30.0


@pytest.mark.parametrize(("fps", "frames_per_s"), [(24.0, 24), (30.0, 30), (50.0, 50), (60.0, 60)])
def test_frame_rates(tmp_path: Path, fps: float, frames_per_s: int) -> None:
    script = synth.DeadliftScript(reps=1, lead_in_s=0.2, hold_s=0.2)
    path = tmp_path / "f.mp4"
    truth = synth.render_clip(path, script=script, size=SMALL_SIZE, fps=fps, scene=synth.Scene(encoder="fast"))
    info = probe(path)
    assert info.nominal_fps == pytest.approx(fps, rel=1e-3)
    assert len(truth.frames) == math.floor(truth.reps[-1].end_s * frames_per_s + 1e-9) + 1
    assert info.frame_count == len(truth.frames)


@pytest.mark.parametrize(("size", "portrait"), [((180, 320), True), ((320, 180), False)])
def test_portrait_and_landscape(tmp_path: Path, size: tuple[int, int], portrait: bool) -> None:
    camera = synth.portrait_camera() if portrait else synth.Camera()
    path = tmp_path / "p.mp4"
    truth = synth.render_clip(path, script=SMALL_SCRIPT, size=size, camera=camera, scene=synth.Scene(encoder="fast"))
    info = probe(path)
    assert (info.width, info.height, info.rotation_deg) == (*size, 0)
    assert truth.size == size
    pts = np.stack([truth.points(k) for k in synth.TRUTH_POINTS])
    assert pts[..., 0].min() > 0 and pts[..., 0].max() < size[0]
    assert pts[..., 1].min() > 0 and pts[..., 1].max() < size[1]
    # A phone turned upright: the portrait camera's focal length in pixels equals the landscape one's, so the
    # standing figure is as many pixels tall in both.
    landscape = synth.ground_truth(script=SMALL_SCRIPT, size=(320, 180))
    height_px = float(truth.points("ankle")[0, 1] - truth.points("ear")[0, 1])
    assert height_px == pytest.approx(float(landscape.points("ankle")[0, 1] - landscape.points("ear")[0, 1]),
                                      rel=0.01)


@pytest.mark.parametrize(
    "scene",
    [
        synth.Scene(encoder="fast"),
        synth.Scene(encoder="fast", background="gym", outfit="red", blur_px=3.0, vfr_jitter=0.2),
        synth.Scene(encoder="fast", background="gradient", outfit="white", blur_px=5.0, blur_kind="motion"),
    ],
    ids=["fast", "gym-blur-vfr", "gradient-motion-blur"],
)
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, scene: synth.Scene) -> None:
    # Draw something else first: the encoder's nondeterminism showed only after the process had drawn frames.
    _frame(synth.Scene(background="gym"), size=(1280, 720))
    """The fast encoder repeats bytes, also after other drawing in the same process (the writer encoder's
    libx264 macroblock-tree did not, on a walk-in clip; the sample clips it makes have repeated so far)."""
    script = synth.DeadliftScript(reps=1, lead_in_s=0.3, hold_s=0.2, walk_in_s=1.0, setup_s=0.3)
    kw = {"script": script, "body": BODY4, "size": SMALL_SIZE, "noise_sd": 6.0, "scene": scene}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        synth.render_clip(tmp_path / f"{name}.mp4", seed=seed, **kw)  # type: ignore[arg-type]
    for suffix in (".mp4", ".json"):
        a, b, c = ((tmp_path / f"{n}{suffix}").read_bytes() for n in "abc")
        assert a == b, f"{suffix}: two renders of seed 1 differ"
        assert a != c, f"{suffix}: seeds 1 and 2 gave the same file"


def test_scene_and_render_options_are_checked(tmp_path: Path) -> None:
    cases = [
        ({"background": "beach"}, "background"),
        ({"outfit": "tux"}, "outfit"),
        ({"blur_px": -1.0}, "blur_px"),
        ({"blur_kind": "zoom"}, "blur_kind"),
        ({"vfr_jitter": 2.0}, "vfr_jitter"),
        ({"encoder": "gpu"}, "encoder"),
        ({"preset": "warp"}, "preset"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            synth.Scene(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"schema 1\.1"):
        synth.render_clip(tmp_path / "x.mp4", size=SMALL_SIZE, schema="1.0", scene=synth.Scene(background="gym"))
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize(
    ("argv", "code", "expect"),
    [
        (["--orientation", "portrait", "--size", "320x180", "--walk-in", "1", "--setup", "0.5", "--background", "gym",
          "--vfr", "0.2", "--fps", "24"], 0, (180, 320)),
        (["--fps", "20"], 2, "--fps must be between 24 and 60"),
        (["--exercise", "kb_swing", "--rest", "1"], 2, "rest"),
        (["--blur", "80"], 2, "blur_px"),
    ],
)
def test_cli_synth_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int,
                           expect: object) -> None:
    from analyzer.cli import main

    base = ["synth", "-o", str(tmp_path), "--name", "c", "--reps", "1"]
    if "--exercise" not in argv:
        base += ["--exercise", "deadlift"]
    assert main(base + argv) == code
    if code == 0:
        info = probe(tmp_path / "c.mp4")
        assert (info.width, info.height) == expect
        truth = synth.GroundTruth.load(tmp_path / "c.json")
        assert truth.frames[0].phase == "walk_in" and truth.generator["parameters"]["scene"]["vfr_jitter"] == 0.2
    else:
        err = capsys.readouterr().err
        assert err.startswith("error: ") and str(expect) in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "c.mp4").exists()


@pytest.mark.slow
def test_720p_ten_second_clip_generation_time(tmp_path: Path) -> None:
    """A 10 s 1280x720 30 fps clip (render, ground truth, encode) with the fast encoder, on a shared 2-core box."""
    script = synth.DeadliftScript(reps=3, lead_in_s=0.7, hold_s=0.6)
    start = time.perf_counter()
    truth = synth.render_clip(tmp_path / "s.mp4", script=script, body=BODY4, size=(1280, 720),
                              scene=synth.Scene(encoder="fast"))
    seconds = time.perf_counter() - start
    assert 9.5 <= truth.frames[-1].t <= 10.5
    assert seconds < 20.0, f"10 s of 720p took {seconds:.1f} s"


@pytest.mark.slow
def test_walk_in_and_setup_clip_through_the_pipeline(tmp_path: Path) -> None:
    """Walk-in from off-frame, set-up at the bar and rests in a cluttered gym: the real pipeline counts exactly
    the scripted reps, each within half a second of its true lockout, and flags nothing on the clean set."""
    pytest.importorskip("mediapipe")
    from analyzer.pipeline import AnalyzeOptions, analyze

    clip = tmp_path / "walk.mp4"
    truth = synth.render_clip(clip, script=synth.DeadliftScript(reps=3, walk_in_s=2.5, setup_s=1.0, rest_s=0.8,
                                                               lead_in_s=0.5, hold_s=0.6),
                              body=BODY4, seed=4, scene=synth.Scene(encoder="fast", background="gym"))
    report = analyze(clip, tmp_path / "out", AnalyzeOptions(exercise="deadlift", video=False)).report
    assert len(report.reps) == len(truth.reps) == 3
    lockouts = np.array([r.lockout_s for r in report.reps])
    assert np.abs(lockouts - [r.lockout_s for r in truth.reps]).max() <= 0.5, lockouts
    assert all(r.lockout_s > truth.reps[0].start_s for r in report.reps), "nothing counted during the set-up"
    assert not [f for r in report.reps for f in r.faults]


# injected fault sizes past what the fault sweep (benchmarks/synth_accuracy.py --fault-sweep) found each check's
# detection limit to be on this figure (spine flexion 20 deg, lean-back 15-20, bar drift 0.25 m reading 0.35-0.38
# against 0.3, hips rising 25 deg with the check on): rep -> (fault, size, the check that should flag it)
INJECTED = {2: ("spine_flexion", 30.0, "rounded_back"), 3: ("lean_back", 25.0, "hyperextended_lockout"),
            4: ("bar_drift", 0.3, "bar_drift"), 5: ("hips_rise_early", 30.0, "hips_rise_first")}


@pytest.mark.slow
def test_injected_faults_are_found_on_their_reps_and_nowhere_else(tmp_path: Path) -> None:
    """Video in, angles, reps and faults out: a 5-rep side-view deadlift, rep 1 clean and one fault on each other
    rep. Trunk and hip angles within the issue's MAE targets of the image-plane truth, every rep counted, each
    fault flagged on its rep and nothing else flagged. Hips rising early is switched off in the shipped table
    (real footage can't time it), so that check is judged with every check switched on."""
    pytest.importorskip("mediapipe")
    from analyzer.faults import every_check_on, judge
    from analyzer.kinematics import measure
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.rules import load_rules
    from analyzer.types import PoseSequence

    faults = tuple(synth.InjectedFault(kind, size, (rep,)) for rep, (kind, size, _) in INJECTED.items())
    clip = tmp_path / "faults.mp4"
    truth = synth.render_clip(clip, script=synth.DeadliftScript(reps=5, lead_in_s=0.6, hold_s=0.6, faults=faults),
                              body=BODY4, size=(960, 540), seed=11, scene=synth.Scene(encoder="fast"))
    report = analyze(clip, tmp_path / "out", AnalyzeOptions(exercise="deadlift", video=False)).report
    assert len(report.reps) == 5
    lockouts = np.array([r.lockout_s for r in report.reps])
    assert np.abs(lockouts - [r.lockout_s for r in truth.reps]).max() <= 0.5

    seq = PoseSequence.load(tmp_path / "out" / "pose.npz")
    kin = measure(seq)
    near = np.clip(np.searchsorted(truth.t, seq.t - 1e-6), 0, len(truth.t) - 1)
    true_trunk = np.abs(truth.series("trunk_inclination_deg"))[near]
    trunk_mae = float(np.nanmean(np.abs(kin.trunk_inclination_deg - true_trunk)))
    hip_mae = float(np.nanmean(np.abs(kin.hip_angle_deg - truth.series("hip_angle_deg")[near])))
    assert trunk_mae <= 3.0 and hip_mae <= 5.0, (trunk_mae, hip_mae)

    flagged = {(rep.index, f.code.value) for rep in report.reps for f in rep.faults}
    expected = {(rep, code) for rep, (_, _, code) in INJECTED.items() if code != "hips_rise_first"}
    assert flagged == expected, [(r.index, r.checks["hyperextended_lockout"]) for r in report.reps]
    all_on = every_check_on(load_rules("deadlift"))
    hips = [next(j for j in judged if j.code.value == "hips_rise_first") for judged in judge(report.reps, kin, all_on)]
    assert [j.status for j in hips] == ["ok", "ok", "ok", "ok", "flagged"], [j.measured for j in hips]
