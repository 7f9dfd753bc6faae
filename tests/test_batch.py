"""``hinge batch``: inputs, error rows, resume, re-scoring from cached poses, and Dask equal to local.

The model-driven tests share one short clip (the first seconds of the deadlift sample, re-encoded into
the session's temp folder) and one first run over a mixed folder, so the model runs as little as possible.
"""

from __future__ import annotations

import json
import shutil
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pandas as pd
import pytest

from analyzer.batch import BatchOptions, collect_inputs, run_batch, settings_hash
from analyzer.cli import main
from analyzer.errors import ConfigError, InputNotFoundError
from analyzer.pipeline import AnalyzeOptions
from analyzer.video import iter_frames
from tests.clipfactory import text_file
from tests.conftest import SAMPLE_VIDEOS

PACKAGED_RULES = Path(__file__).resolve().parents[1] / "models" / "rules"
SHORT_S = 4.6  # the first rep of deadlift_side runs 1.0-4.29 s
QUIET = BatchOptions(show_progress=False)
NO_VIDEO = AnalyzeOptions(video=False)
# columns that say how a row was made (timing, cache use), not what was measured
RUN_COLUMNS = ["seconds", "action", "pose_from_cache", "path"]


def shorten(src: Path, dst: Path, seconds: float) -> Path:
    """Re-encode the first ``seconds`` of ``src`` into ``dst`` (H.264, timestamps kept)."""
    with av.open(str(dst), "w") as out:
        stream = None
        for frame in iter_frames(src):
            if frame.t > seconds:
                break
            if stream is None:
                stream = out.add_stream("libx264", rate=30, options={"preset": "ultrafast", "crf": "18"})
                stream.width, stream.height, stream.pix_fmt = frame.image.shape[1], frame.image.shape[0], "yuv420p"
                stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame.image), format="rgb24")
            vf.pts, vf.time_base = int(round(frame.t * 1000)), Fraction(1, 1000)
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
    return dst


def mixed_folder(root: Path, good: Path) -> Path:
    """good clip + random bytes named .mp4 + text named .mp4 + a .txt that is not a video (ignored)."""
    folder = root / "mixed"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(good, folder / "good.mp4")
    (folder / "sub" / "corrupt.mp4").write_bytes(np.random.default_rng(3).integers(0, 256, 50_000, np.uint8).tobytes())
    text_file(folder / "notes.mp4")
    (folder / "readme.txt").write_text("not a clip\n")
    return folder


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    return shorten(SAMPLE_VIDEOS / "deadlift_side.mp4", tmp_path_factory.mktemp("clips") / "deadlift_short.mp4",
                   SHORT_S)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, short_clip):
    """One single-process batch over the mixed folder: (folder, outdir, result, seconds)."""
    root = tmp_path_factory.mktemp("batch")
    folder = mixed_folder(root, short_clip)
    started = time.perf_counter()
    result = run_batch([folder], root / "out", NO_VIDEO, QUIET)
    return folder, root / "out", result, time.perf_counter() - started


# --- inputs (no model) -------------------------------------------------------------------------------------


def test_inputs_folders_are_recursive_manifests_carry_columns_and_names_are_unique(tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "lift.MP4").write_bytes(b"x")
    (tmp_path / "a" / "notes.txt").write_text("x")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,subject,load_kg\na/lift.MP4,s01,100\nb/lift.MP4,s02,120\n")

    from_folder = collect_inputs([tmp_path])
    from_manifest = collect_inputs([manifest])

    assert sorted(j.path.name for j in from_folder) == ["lift.MP4", "lift.MP4"]
    assert len({j.name for j in from_folder}) == 2 and all(j.name.startswith("lift-") for j in from_folder)
    assert [dict(j.extra) for j in from_manifest] == [{"subject": "s01", "load_kg": "100"},
                                                      {"subject": "s02", "load_kg": "120"}]
    assert [j.path for j in from_manifest] == [tmp_path / "a" / "lift.MP4", tmp_path / "b" / "lift.MP4"]


@pytest.mark.parametrize(("write", "error"), [
    (None, InputNotFoundError),
    ("file,reps\nx.mp4,3\n", ConfigError),
])
def test_bad_inputs_fail_before_any_clip(tmp_path, write, error):
    target = tmp_path / "manifest.csv"
    if write is not None:
        target.write_text(write)
    with pytest.raises(error):
        collect_inputs([target])


def test_settings_hash_follows_thresholds_and_options(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    base = settings_hash(AnalyzeOptions(rules_dir=rules))
    assert base == settings_hash(AnalyzeOptions(rules_dir=rules))
    assert base != settings_hash(AnalyzeOptions(rules_dir=rules, video=False))
    (rules / "deadlift.toml").write_text((rules / "deadlift.toml").read_text() + "\n# changed\n")
    assert base != settings_hash(AnalyzeOptions(rules_dir=rules))


# --- through the model -------------------------------------------------------------------------------------


def test_mixed_folder_gives_one_row_per_clip_and_errors_do_not_stop_the_batch(first_run):
    _, out, result, _ = first_run
    clips = pd.read_parquet(out / "clips.parquet").set_index("clip")
    reps = pd.read_parquet(out / "reps.parquet")

    assert sorted(clips.index) == ["corrupt", "good", "notes"]
    assert dict(clips["status"]) == {"corrupt": "error", "good": "ok", "notes": "error"}
    assert set(clips.loc[["corrupt", "notes"], "error_type"]) <= {"NotAVideoError", "VideoDecodeError"}
    assert clips.loc["good", "exercise"] == "deadlift"
    assert clips.loc["good", "view"] == "side"
    assert clips.loc["good", "reps"] == 1
    assert list(reps["clip"]) == ["good"]
    assert reps.loc[0, "trunk_incline_max_deg"] == pytest.approx(70, abs=15)
    assert not reps.loc[0, "faults"]
    assert {"fault_rounded_back", "rounded_back_status", "rounded_back_measured"} <= set(reps.columns)
    assert pd.read_csv(out / "reps.csv").shape == reps.shape
    assert pd.read_csv(out / "clips.csv").shape[0] == 3
    for name in ("report.json", "pose.npz", "reps.csv", "batch.json"):
        assert (out / "clips" / "good" / name).is_file()
    assert not (out / "clips" / "notes").exists()
    provenance = json.loads((out / "provenance.json").read_text())
    assert {"version", "model_sha256", "thresholds_sha256", "filters", "python", "platform"} <= provenance.keys()
    assert len(provenance["model_sha256"]) == 64
    assert result.errors == 2 and result.reps == 1
    assert not list(out.glob(".*tmp*"))


def test_rerun_skips_finished_clips_and_retries_failed_ones(first_run):
    folder, out, _, first_s = first_run
    started = time.perf_counter()
    rerun = run_batch([folder], out, NO_VIDEO, QUIET)
    rerun_s = time.perf_counter() - started

    assert {o.name: o.action for o in rerun.outcomes} == {"good": "skipped", "corrupt": "failed", "notes": "failed"}
    assert rerun_s < first_s / 5
    clips = pd.read_parquet(out / "clips.parquet")
    assert list(clips[["clip", "status"]].itertuples(index=False, name=None)) == [
        ("good", "ok"), ("notes", "error"), ("corrupt", "error")]


def test_rescore_rejudges_cached_poses_with_new_thresholds_at_least_10x_faster(first_run, tmp_path):
    folder, out, _, first_s = first_run
    rules = tmp_path / "rules"
    shutil.copytree(PACKAGED_RULES, rules)
    table = rules / "deadlift.toml"
    # any lowering counts as uncontrolled: the clean rep is now flagged
    text = table.read_text()
    assert "[faults.uncontrolled_lowering.eccentric_min_s]\nvalue = " in text
    table.write_text(text.replace("[faults.uncontrolled_lowering.eccentric_min_s]\nvalue = ",
                                  "[faults.uncontrolled_lowering.eccentric_min_s]\nvalue = 100 #"))
    rescore_out = tmp_path / "rescored"
    shutil.copytree(out, rescore_out)
    before = pd.read_parquet(rescore_out / "reps.parquet")

    started = time.perf_counter()
    result = run_batch([folder], rescore_out, AnalyzeOptions(video=False, rules_dir=rules),
                       BatchOptions(rescore=True, show_progress=False))
    rescore_s = time.perf_counter() - started
    after = pd.read_parquet(rescore_out / "reps.parquet")

    assert {o.name: o.action for o in result.outcomes}["good"] == "rescored"
    assert not before.loc[0, "fault_uncontrolled_lowering"]
    assert after.loc[0, "fault_uncontrolled_lowering"]
    assert after.loc[0, "uncontrolled_lowering_threshold"] == 100
    assert after.loc[0, "trunk_incline_max_deg"] == before.loc[0, "trunk_incline_max_deg"]
    report = json.loads((rescore_out / "clips" / "good" / "report.json").read_text())
    assert report["provenance"]["rescored"] is True
    assert rescore_s * 10 <= first_s, f"rescore {rescore_s:.2f} s vs first run {first_s:.2f} s"


def test_cli_batch_with_a_manifest_carries_its_columns(first_run, tmp_path, capsys):
    folder, out, _, _ = first_run
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(f"path,subject,session\n{folder / 'good.mp4'},s07,2\n{folder / 'notes.mp4'},s07,3\n")
    shutil.copytree(out / "clips" / "good", tmp_path / "out" / "clips" / "good")  # finished: skipped

    code = main(["batch", str(manifest), "-o", str(tmp_path / "out"), "--no-video", "-q"])

    assert code == 0
    assert "1 already done, 1 failed" in capsys.readouterr().out
    reps = pd.read_csv(tmp_path / "out" / "reps.csv")
    clips = pd.read_csv(tmp_path / "out" / "clips.csv")
    assert list(reps[["clip", "subject", "session"]].itertuples(index=False, name=None)) == [("good", "s07", 2)]
    assert list(clips["session"]) == [2, 3]


@pytest.mark.slow
def test_two_worker_local_dask_cluster_equals_the_single_process_run(first_run, tmp_path):
    folder, out, _, _ = first_run
    result = run_batch([folder], tmp_path / "dask", NO_VIDEO,
                       BatchOptions(workers=2, cluster="local", show_progress=False))

    assert [o.action for o in result.outcomes if o.status == "ok"] == ["analyzed"]
    for table in ("clips.parquet", "reps.parquet"):
        local = pd.read_parquet(out / table).drop(columns=RUN_COLUMNS, errors="ignore")
        dask = pd.read_parquet(tmp_path / "dask" / table).drop(columns=RUN_COLUMNS, errors="ignore")
        pd.testing.assert_frame_equal(local, dask)
