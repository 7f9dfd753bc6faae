"""End to end through the real model: the sample clip, and variants of it re-encoded the way phones
store clips (portrait stored sideways, variable frame rate) or damaged."""

from __future__ import annotations

import csv
import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from analyzer.cli import main
from analyzer.pipeline import AnalyzeOptions, analyze
from analyzer.synth import GroundTruth, ground_truth_path
from analyzer.types import REPORT_SCHEMA_VERSION
from analyzer.video import iter_frames, probe
from tests.clipfactory import mdat_span, top_level_atoms
from tests.conftest import SAMPLE_VIDEOS

pytestmark = pytest.mark.slow

SAMPLE = SAMPLE_VIDEOS / "deadlift_side.mp4"
TRUTH = GroundTruth.load(ground_truth_path(SAMPLE))
# Our lockout is "trunk back within the lockout band" (20 deg); the generator's is "fully upright",
# which comes a few hundred milliseconds later.
LOCKOUT_TOLERANCE_S = 0.5


def _reencode(src: Path, dst: Path, *, rotate_stored: int = 0, display_rotation: int = 0,
              keep: np.ndarray | None = None) -> list[float]:
    """Write ``src``'s frames to ``dst`` (H.264), optionally stored rotated and with frames dropped.

    Returns the presentation times (seconds) of the frames written.
    """
    frames = list(iter_frames(src))
    times = []
    with av.open(str(dst), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        image = np.rot90(frames[0].image, rotate_stored)
        stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "ultrafast", "crf": "20"}
        if display_rotation:
            stream.set_display_rotation(display_rotation)
        for i, frame in enumerate(frames):
            if keep is not None and not keep[i]:
                continue
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(frame.image, rotate_stored)), format="rgb24")
            vf.pts = int(round(frame.t * 1000))
            vf.time_base = Fraction(1, 1000)
            times.append(vf.pts / 1000)
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
    return times


def _lockouts(report) -> np.ndarray:
    return np.array([r.lockout_s for r in report.reps])


TRUE_LOCKOUTS = np.array([r.lockout_s for r in TRUTH.reps])


def test_sample_clip_end_to_end_through_the_cli(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["analyze", str(SAMPLE), "-o", str(out), "-q", "--exercise", "deadlift"]) == 0
    expected = ["annotated.mp4", "plate.npz", "pose.npz", "report.html", "report.json", "reps.csv"]
    assert sorted(p.name for p in out.iterdir()) == expected
    info = probe(out / "annotated.mp4")
    assert info.codec == "h264" and info.width == 960 and info.height == 540 and info.rotation_deg == 0
    with av.open(str(out / "annotated.mp4")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
    atoms = [kind for kind, _, _ in top_level_atoms(out / "annotated.mp4")]
    assert atoms.index("moov") < atoms.index("mdat")  # +faststart: plays before it has fully loaded
    assert info.frame_count == len(TRUTH.frames)

    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == REPORT_SCHEMA_VERSION
    assert report["summary"]["rep_count"] == len(TRUTH.reps) == 3
    assert report["clip"]["frames_with_lifter"] >= 0.95 * len(TRUTH.frames)
    assert len(report["provenance"]["model"]["sha256"]) == 64
    lockouts = np.array([r["lockout_s"] for r in report["reps"]])
    assert np.all(np.abs(lockouts - TRUE_LOCKOUTS) <= LOCKOUT_TOLERANCE_S), lockouts
    true_depth = np.array([r["trunk_incline_max_deg"] for r in json.loads(
        ground_truth_path(SAMPLE).read_text())["reps"]])
    depth = np.array([r["metrics"]["trunk_incline_max_deg"] for r in report["reps"]])
    assert np.all(np.abs(depth - true_depth) <= 3.0), (depth, true_depth)

    with (out / "reps.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["rep"]) for r in rows] == [1, 2, 3]
    assert float(rows[0]["trunk_incline_max_deg"]) == pytest.approx(depth[0], abs=0.01)

    # bar speed in m/s from the plate, found on the generated clip's 450 mm plates
    assert report["summary"]["bar_speed_unit"] == "m/s"
    assert all(0.5 < r["metrics"]["bar_speed_peak_m_per_s"] < 2.0 for r in report["reps"])

    # a rerun into the same folder reuses the cached landmarks instead of running the model again; without
    # the plate search the speed is the wrists', in body lengths per second
    assert main(["analyze", str(SAMPLE), "-o", str(out), "-q", "--no-video", "--no-plate", "--exercise",
                 "deadlift"]) == 0
    again = json.loads((out / "report.json").read_text())
    assert again["provenance"]["pose_from_cache"] is True
    assert again["summary"]["rep_count"] == 3
    assert again["summary"]["bar_speed_unit"] == "body_lengths/s"
    assert "plate_s" not in again["provenance"]["timing_s"]


def test_portrait_clip_stored_sideways_comes_out_upright(tmp_path):
    # Phones store portrait video as landscape frames plus "rotate 90 clockwise" (-90) metadata.
    # Use a portrait crop of the sample so the upright picture is genuinely portrait.
    portrait = tmp_path / "portrait_src.mp4"
    with av.open(str(portrait), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 400, 540, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for frame in iter_frames(SAMPLE):
            crop = np.ascontiguousarray(frame.image[:, 280:680])
            out.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")))
        out.mux(stream.encode(None))
    sideways = tmp_path / "sideways.mp4"
    _reencode(portrait, sideways, rotate_stored=1, display_rotation=-90)
    with av.open(str(sideways)) as container:  # stored landscape
        assert (container.streams.video[0].width, container.streams.video[0].height) == (540, 400)

    result = analyze(sideways, tmp_path / "out", AnalyzeOptions(exercise="deadlift"))
    clip = result.report.clip
    assert (clip["width"], clip["height"], clip["rotation_deg"]) == (400, 540, 270)
    annotated = probe(tmp_path / "out" / "annotated.mp4")
    assert (annotated.width, annotated.height, annotated.rotation_deg) == (400, 540, 0)
    assert len(result.report.reps) == 3
    assert np.all(np.abs(_lockouts(result.report) - TRUE_LOCKOUTS) <= LOCKOUT_TOLERANCE_S)


def test_variable_frame_rate_report_times_follow_the_timestamps(tmp_path):
    # Drop frames irregularly (phones vary their rate with light): the kept frames keep their true
    # times, so rep times must still match the ground truth, not frame_index / fps.
    rng = np.random.default_rng(3)
    keep = rng.random(len(TRUTH.frames)) > 0.45
    keep[0] = True
    vfr = tmp_path / "vfr.mp4"
    times = _reencode(SAMPLE, vfr, keep=keep)
    result = analyze(vfr, tmp_path / "out", AnalyzeOptions(exercise="deadlift", video=False))
    report = result.report
    assert report.clip["variable_frame_rate"] is True
    assert report.clip["frames"] == len(times)
    assert report.clip["duration_s"] == pytest.approx(times[-1] - times[0], abs=1e-3)
    # frame counting at the nominal rate would put the last rep's lockout ~45 % early
    assert len(report.reps) == 3
    assert np.all(np.abs(_lockouts(report) - TRUE_LOCKOUTS) <= LOCKOUT_TOLERANCE_S), _lockouts(report)
    pose_t = np.load(tmp_path / "out" / "pose.npz")["t"]
    np.testing.assert_allclose(pose_t, np.array(times) - times[0], atol=1e-3)


def test_clip_with_damaged_frames_is_analysed_with_a_warning(tmp_path, capsys):
    damaged = tmp_path / "damaged.mp4"
    data = bytearray(SAMPLE.read_bytes())
    start, end = mdat_span(SAMPLE)
    at = start + int((end - start) * 0.55)
    data[at:at + 4000] = np.random.default_rng(5).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    damaged.write_bytes(bytes(data))
    out = tmp_path / "out"
    assert main(["analyze", str(damaged), "-o", str(out), "-q", "--no-video", "--exercise", "deadlift"]) == 0
    err = capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    lost = report["clip"]["frames_lost"]
    assert lost > 0
    assert any(f"{lost} frame(s) could not be decoded" in w for w in report["warnings"])
    assert f"{lost} frame(s) could not be decoded" in err


@pytest.mark.parametrize(
    ("clip", "reps", "flagged_reps", "not_a_hinge"),
    [
        ("deadlift_side.mp4", 3, {}, False),  # clean set: nothing flagged
        ("deadlift_rounded_side.mp4", 3, {2: "rounded_back"}, False),  # rep 2 rounded 30 deg
        ("rdl_45deg.mp4", 3, {}, False),
        ("squat_side.mp4", 0, {}, True),
    ],
)
def test_generated_clips_find_the_injected_faults_and_nothing_else(tmp_path, clip, reps, flagged_reps, not_a_hinge):
    truth = json.loads(ground_truth_path(SAMPLE_VIDEOS / clip).read_text())
    assert len([r for r in truth["reps"]]) == 3
    report = analyze(SAMPLE_VIDEOS / clip, tmp_path / "out", AnalyzeOptions(video=False)).report
    assert len(report.reps) == reps
    assert (report.exercise["rules"] is None) == not_a_hinge
    found = {r.index: {f.code.value for f in r.faults} for r in report.reps if r.faults}
    assert found == {k: {v} for k, v in flagged_reps.items()}
    for rep in report.reps:
        for fault in rep.faults:
            assert fault.measured > fault.threshold and 0 < fault.severity <= 1 and rep.cues
