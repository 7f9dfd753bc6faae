"""Real third-party clips in ../shared/footage (never shipped): skipped when the folder is absent."""

from __future__ import annotations

import csv
import json

import pytest

from analyzer.pipeline import AnalyzeOptions, analyze
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


@pytest.mark.slow
def test_side_view_deadlift_set_gives_five_reps(footage_dir, tmp_path):
    clip = footage_dir / "ai-workout__deadlift__side_15-45s.mp4"
    result = analyze(clip, tmp_path / "out", AnalyzeOptions(exercise="deadlift", video=False))
    assert len(result.report.reps) == 5
    # labelled windows (by eye): 1.5-5.0, 7.0-10.5, 12.5-16.5, 18.5-22.5, 24.0-29.0 s;
    # each lockout must fall inside its labelled window (the labels mark the pulls)
    windows = [(1.5, 5.0), (7.0, 10.5), (12.5, 16.5), (18.5, 22.5), (24.0, 29.0)]
    for rep, (lo, hi) in zip(result.report.reps, windows, strict=True):
        assert lo <= rep.lockout_s <= hi, (rep.index, rep.lockout_s)
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["summary"]["rep_count"] == 5
