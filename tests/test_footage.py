"""Real third-party clips in ../shared/footage (never shipped): skipped when the folder is absent."""

from __future__ import annotations

import csv
import json

import pytest

from analyzer.pipeline import AnalyzeOptions
from analyzer.video import DecodeStats, iter_frames, probe

pytestmark = pytest.mark.footage


def _labelled_files(footage_dir):
    with (footage_dir / "labels.csv").open() as handle:
        return [row["file"] for row in csv.DictReader(handle)]


@pytest.mark.slow
def test_every_clip_decodes_upright_with_increasing_times(footage_dir):
    files = _labelled_files(footage_dir)
    assert len(files) == 50
    for name in files:
        info = probe(footage_dir / name)
        stats = DecodeStats()
        last_t, n = -1.0, 0
        for frame in iter_frames(footage_dir / name, stats, max_side=320):
            assert frame.t > last_t
            last_t = frame.t
            n += 1
            assert frame.image.flags.c_contiguous
        assert n > 0, name
        # header durations are approximate; the decoded span must agree within a frame or two
        assert abs(last_t - info.duration_s) < 3.0 / max(info.nominal_fps, 1.0) + 0.2, (name, last_t, info)
        assert stats.lost == 0, (name, stats)


# Measured on the 50 labelled clips (pose run afresh with the default settings, 2026-11-27, 6.7 min):
# rep count exact on 33/36 hinge clips filmed from the side or at 45 deg (the target is 90 %,
# 32.4 clips, and the floor is the target itself), 38/50 overall, MAE 0.54, 3 ghost reps; view 44/49;
# exercise 40/50; clip-level false flags: hyperextended_lockout 5 (the five deadlift-visual-analyzer
# Good_00000[1-5] lockouts, one lifter who visibly leans back 19-26 deg, against 13), neck 0, bar drift 3.
# The other floors sit one clip below (ceilings one above) each measured figure: pose estimates move by a
# frame or two between MediaPipe builds.
FLOORS = {"hinge side+oblique": 33, "all": 37}
MAX_GHOST_REPS = 4
MIN_VIEW_HITS, MIN_EXERCISE_HITS = 43, 39
MAX_FALSE_FLAGS = {"hyperextended_lockout": 6, "neck_extension": 1, "bar_drift": 4}
MIN_ROUNDED_BACK = {"precision": 0.8, "recall": 0.8}


@pytest.mark.slow
def test_eval_over_the_labelled_footage_meets_the_measured_floors(footage_dir, tmp_path):
    """``hinge eval`` over every labelled clip: the issue's acceptance run, in CI too.

    Running the model on all 50 clips, two at a time, takes about 6 minutes on 2 cores. HINGE_EVAL_CACHE=DIR
    keeps a folder between runs whose ``clips/<stem>/pose.npz`` and ``plate.npz`` are reused (about 10 s);
    HINGE_SKIP_FULL_EVAL=1 skips it for a quick local run.
    """
    import os
    from functools import partial
    from pathlib import Path

    from analyzer.evaluate import analyze_to_report, evaluate

    if os.environ.get("HINGE_SKIP_FULL_EVAL"):
        pytest.skip("HINGE_SKIP_FULL_EVAL is set")
    out = Path(os.environ.get("HINGE_EVAL_CACHE", tmp_path / "eval"))
    # two clips at a time, as `hinge eval --workers 2`: short clips run one pose thread each
    results, scores = evaluate(footage_dir / "labels.csv", footage_dir, out,
                               partial(analyze_to_report, options=AnalyzeOptions(video=False)), workers=2)
    assert scores.errors == 0
    for group, floor in FLOORS.items():
        assert scores.rep_exact[group][0] >= floor, (group, scores.rep_exact[group])
    assert scores.ghost_reps <= MAX_GHOST_REPS
    assert scores.view_accuracy is not None and scores.view_accuracy[0] >= MIN_VIEW_HITS
    assert scores.exercise_accuracy is not None and scores.exercise_accuracy[0] >= MIN_EXERCISE_HITS
    for name, ceiling in MAX_FALSE_FLAGS.items():
        assert scores.faults.get(name, {}).get("fp", 0) <= ceiling, (name, scores.faults.get(name))
    for key, floor in MIN_ROUNDED_BACK.items():
        assert scores.faults["rounded_back"][key] >= floor, scores.faults["rounded_back"]
    by_file = {r.file: r for r in results}
    # the walking/yoga-like clips with no lift stay at zero reps
    assert by_file["pypi-sports2d__demo.mp4"].reps == 0
    assert by_file["kbtrainer__hipExtension.mp4"].reps == 0
    # squats are reported as not a hinge: 5 of 6 measured (FormFit's front squat reads as a good morning:
    # the plates hide the torso at the bottom and the model reads the knees nearly straight)
    squats = [r for r in results if r.label["exercise"] == "squat"]
    assert len(squats) == 6 and sum(r.exercise == "not_hinge" for r in squats) >= 5

    # the side-view set: labelled windows (by eye) 1.5-5.0, 7.0-10.5, 12.5-16.5, 18.5-22.5, 24.0-29.0 s; each
    # lockout must fall inside its window (the labels mark the pulls), and the plate gives m/s
    report = json.loads((out / "clips" / "ai-workout__deadlift__side_15-45s" / "report.json").read_text())
    windows = [(1.5, 5.0), (7.0, 10.5), (12.5, 16.5), (18.5, 22.5), (24.0, 29.0)]
    assert report["summary"]["rep_count"] == 5
    for rep, (lo, hi) in zip(report["reps"], windows, strict=True):
        assert lo <= rep["lockout_s"] <= hi, (rep["index"], rep["lockout_s"])
    assert report["summary"]["bar_speed_unit"] == "m/s"
