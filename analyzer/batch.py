"""``hinge batch``: many clips through ``pipeline.analyze``, on local processes or a Dask cluster.

Inputs are clip files, folders (searched recursively for video files) or CSV manifests with a ``path``
column; a manifest's other columns (subject, session, load, ...) are carried into every output row.
Each clip is analysed into ``OUTDIR/clips/<name>/`` (report.json, pose.npz, reps.csv, ...), then the
tables are assembled in clip order:

- ``reps.parquet`` / ``reps.csv``: one row per rep, every metric, every fault check, the manifest columns;
- ``clips.parquet`` / ``clips.csv``: one row per clip: status, reps, view, exercise, capture quality, error;
- ``provenance.json``: package version, model sha256, thresholds hash, filter settings, Python, platform.

One code path: a ``concurrent.futures.Executor`` runs ``run_clip`` per clip. It is this process for one
worker, a ``ProcessPoolExecutor`` for more, or a Dask ``Client.get_executor()`` with ``scheduler``
(an existing cluster) or ``cluster='local'`` (a LocalCluster on 127.0.0.1). Dask is imported only then.

Resumable: ``batch.json`` beside each clip's report records the clip's content sha256 and the settings
hash; a rerun skips clips whose both match. ``rescore`` re-judges from the cached ``pose.npz`` with the
current thresholds (say a new ``rules_dir``) without decoding the clip or running the pose model.
A bad clip becomes an error row and never stops the batch; Ctrl-C keeps the finished clips' rows.

With ``scheduler`` the Dask workers open the clips and write OUTDIR themselves, so both must be on a
filesystem the workers share, under the same paths (give absolute paths).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from analyzer import __version__
from analyzer.errors import AnalyzerError, ConfigError, InputNotFoundError, OutputError
from analyzer.pipeline import AnalyzeOptions

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".3gp", ".gif",
                              ".wmv", ".flv", ".mts", ".ts"})
MARKER = "batch.json"
CLIPS_DIR = "clips"

@dataclass(frozen=True)
class BatchOptions:
    """How the batch runs (not what it measures: that is AnalyzeOptions)."""

    workers: int = 1
    scheduler: str | None = None
    cluster: str | None = None
    rescore: bool = False
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.scheduler and self.cluster:
            raise ConfigError("give either --scheduler or --cluster, not both")
        if self.cluster not in (None, "local"):
            raise ConfigError(f"--cluster {self.cluster!r}: only 'local' is supported; use --scheduler for others")


@dataclass(frozen=True)
class ClipJob:
    """One clip to analyse: its path, a unique folder name under OUTDIR/clips, manifest columns."""

    path: Path
    name: str
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ClipOutcome:
    """What happened to one clip; ``report`` is report.json as a dict (None on error)."""

    name: str
    path: str
    status: str  # ok | error
    action: str  # analyzed | rescored | skipped | failed
    report: Mapping[str, Any] | None = None
    sha256: str = ""
    settings_hash: str = ""
    error_type: str = ""
    error: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchResult:
    outdir: Path
    outcomes: tuple[ClipOutcome, ...]
    tables: tuple[Path, ...]
    interrupted: bool = False

    @property
    def reps(self) -> int:
        return sum(len(o.report.get("reps", [])) for o in self.outcomes if o.report)

    @property
    def errors(self) -> int:
        return sum(o.status == "error" for o in self.outcomes)


# --- inputs ------------------------------------------------------------------------------------------------


def _manifest_jobs(path: Path) -> list[tuple[Path, dict[str, str]]]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the manifest ({exc})") from exc
    if not rows or "path" not in rows[0]:
        raise ConfigError(f"{path}: a manifest CSV needs a 'path' column (other columns are carried along)")
    jobs = []
    for row in rows:
        clip = Path(row["path"])
        clip = clip if clip.is_absolute() else path.parent / clip
        jobs.append((clip, {k: v for k, v in row.items() if k != "path" and k is not None}))
    return jobs


def collect_inputs(inputs: Sequence[Path | str]) -> tuple[ClipJob, ...]:
    """Clip jobs from files, folders (recursive, by video extension) and ``.csv`` manifests.

    Files named directly are taken whatever their suffix (a bad one becomes an error row). Duplicates are
    dropped; folder names are the clip stems, made unique with a short hash of the path where they clash.
    """
    found: list[tuple[Path, dict[str, str]]] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found += [(p, {}) for p in sorted(item.rglob("*")) if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
        elif item.is_file() and item.suffix.lower() == ".csv":
            found += _manifest_jobs(item)
        elif item.is_file():
            found.append((item, {}))
        else:
            raise InputNotFoundError(f"{item}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for path, extra in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((path, extra))
    stems: dict[str, int] = {}
    for path, _ in unique:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    jobs = []
    for path, extra in unique:
        name = path.stem
        if stems[name] > 1:
            name = f"{name}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"
        jobs.append(ClipJob(path=path, name=name, extra=extra))
    return tuple(jobs)


# --- settings and provenance -------------------------------------------------------------------------------


def thresholds_hash(rules_dir: Path | None) -> str:
    """sha256 over every threshold table the judging reads: rule tables (rules_dir or packaged) and the
    packaged view, recognition, cue and plate tables."""
    from analyzer.rules import EXERCISES

    digest = hashlib.sha256()
    package = resources.files("analyzer.models")
    for exercise in EXERCISES:
        source = Path(rules_dir) / f"{exercise}.toml" if rules_dir else package.joinpath("rules", f"{exercise}.toml")
        digest.update(exercise.encode())
        digest.update(source.read_bytes() if source.is_file() else b"<missing>")
    for name in ("view.toml", "recognition.toml", "cues.toml", "plates.toml"):
        table = package.joinpath(name)
        digest.update(name.encode())
        digest.update(table.read_bytes() if table.is_file() else b"<missing>")
    return digest.hexdigest()


def settings_hash(options: AnalyzeOptions) -> str:
    """Hash of everything that changes a clip's outputs (besides the clip and the model)."""
    settings = {
        "version": __version__, "exercise": options.exercise, "video": options.video,
        "pose": asdict(options.pose), "filters": asdict(options.filters), "limits": asdict(options.limits),
        "render": asdict(options.render), "height_m": options.height_m, "plate": options.plate,
        "thresholds": thresholds_hash(options.rules_dir),
    }
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:32]


def provenance(options: AnalyzeOptions, batch: BatchOptions, model_sha: str) -> dict[str, Any]:
    return {
        "package": "hinge-analyzer", "version": __version__, "model_sha256": model_sha,
        "thresholds_sha256": thresholds_hash(options.rules_dir),
        "rules_dir": str(options.rules_dir) if options.rules_dir else None,
        "settings_hash": settings_hash(options), "exercise": options.exercise, "video": options.video,
        "filters": asdict(options.filters), "pose": asdict(options.pose), "limits": asdict(options.limits),
        "python": platform.python_version(), "platform": platform.platform(),
        "workers": batch.workers, "scheduler": batch.scheduler, "cluster": batch.cluster, "rescore": batch.rescore,
    }


# --- one clip (runs in a worker) ---------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def done_report(clip_dir: Path, sha: str, settings: str) -> dict[str, Any] | None:
    """The finished report of a clip whose content and settings match the recorded ones, else None."""
    marker = _read_json(clip_dir / MARKER)
    if not marker or marker.get("sha256") != sha or marker.get("settings_hash") != settings:
        return None
    return _read_json(clip_dir / "report.json")


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _rescore(clip_dir: Path, sha: str, options: AnalyzeOptions, model_sha: str) -> dict[str, Any] | None:
    """Re-judge from the cached pose.npz; None when there is no cache matching this clip and model."""
    from analyzer.pipeline import analyze_pose, pose_cache_key
    from analyzer.types import PoseSequence

    previous = _read_json(clip_dir / "report.json")
    pose_path = clip_dir / "pose.npz"
    if not previous or not pose_path.is_file():
        return None
    key = pose_cache_key(sha, model_sha, options.pose)
    if previous.get("provenance", {}).get("pose_cache_key") != key:
        return None
    try:
        seq = PoseSequence.load(pose_path)
    except (OSError, ValueError, KeyError):
        return None
    result = analyze_pose(seq, clip_dir, options, clip=previous["clip"], provenance=previous["provenance"])
    (clip_dir / "annotated.mp4").unlink(missing_ok=True)  # drawn with the old verdicts: stale now
    return result.report.to_dict()


def run_clip(job: ClipJob, outdir: Path, options: AnalyzeOptions, settings: str, model_sha: str,
             rescore: bool = False) -> ClipOutcome:
    """Analyse (or re-score) one clip into ``outdir/clips/<name>``; never raises for a bad clip."""
    from analyzer.pipeline import analyze, file_sha256

    started = time.perf_counter()
    clip_dir = Path(outdir) / CLIPS_DIR / job.name
    sha = ""
    try:
        if not job.path.is_file():
            raise InputNotFoundError(f"{job.path}: no such file")
        sha = file_sha256(job.path)
        report = done_report(clip_dir, sha, settings) if not rescore else None
        action = "skipped"
        if report is None and rescore:
            report, action = _rescore(clip_dir, sha, options, model_sha), "rescored"
            if report is not None:  # no video was drawn: a later run asking for one must redo the clip
                settings = settings_hash(replace(options, video=False))
        if report is None:
            report, action = analyze(job.path, clip_dir, options).report.to_dict(), "analyzed"
        if action != "skipped":
            _write_atomic(clip_dir / MARKER, json.dumps({"sha256": sha, "settings_hash": settings,
                                                         "action": action, "clip": str(job.path)}, indent=2))
        return ClipOutcome(job.name, str(job.path), "ok", action, report, sha, settings,
                           seconds=time.perf_counter() - started)
    except AnalyzerError as exc:
        return ClipOutcome(job.name, str(job.path), "error", "failed", None, sha, settings,
                           type(exc).__name__, exc.message, time.perf_counter() - started)
    except Exception as exc:  # a bug on one clip must not stop the batch; it is reported in its row
        return ClipOutcome(job.name, str(job.path), "error", "failed", None, sha, settings,
                           type(exc).__name__, f"internal error: {exc}", time.perf_counter() - started)


# --- tables ------------------------------------------------------------------------------------------------


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)


def clip_row(job: ClipJob, outcome: ClipOutcome) -> dict[str, Any]:
    """One row of clips.parquet."""
    report = outcome.report or {}
    clip, summary, exercise = report.get("clip", {}), report.get("summary", {}), report.get("exercise", {})
    rules = exercise.get("rules") or ""
    row: dict[str, Any] = {
        "clip": job.name, "file": job.path.name, "path": str(job.path), "status": outcome.status,
        "action": outcome.action, "reps": len(report.get("reps", [])) if report else None,
        "exercise": rules.split("@")[0] if rules else None, "recognized": exercise.get("recognized"),
        "view": summary.get("view"), "near_side": summary.get("near_side"),
        "capture_quality": summary.get("capture_quality"),
        "duration_s": clip.get("duration_s"), "fps": clip.get("measured_fps"),
        "reps_flagged": summary.get("reps_flagged"), "faults_seen": ";".join(summary.get("faults_seen", [])),
        "bar_speed_unit": summary.get("bar_speed_unit"),
        "pose_from_cache": report.get("provenance", {}).get("pose_from_cache") if report else None,
        "warnings": " | ".join(report.get("warnings", [])) if report else "",
        "sha256": outcome.sha256, "settings_hash": outcome.settings_hash,
        "error_type": outcome.error_type, "error": outcome.error, "seconds": round(outcome.seconds, 3),
    }
    return _with_extra(row, job.extra)


def _with_extra(row: dict[str, Any], extra: Mapping[str, str]) -> dict[str, Any]:
    for key, value in extra.items():
        row[f"manifest_{key}" if key in row else key] = value
    return row


def rep_rows(job: ClipJob, outcome: ClipOutcome) -> list[dict[str, Any]]:
    """Rows of reps.parquet for one clip: times, every metric, every check (status, measured, threshold,
    severity) and a boolean per fault code, then the clip's columns and the manifest columns."""
    from analyzer.types import FaultCode

    report = outcome.report
    if not report:
        return []
    base = clip_row(job, outcome)
    rows = []
    for rep in report.get("reps", []):
        flagged = {f["code"] for f in rep.get("faults", [])}
        row: dict[str, Any] = {
            "clip": job.name, "rep": rep["index"], "start_s": rep["start_s"], "bottom_s": rep["bottom_s"],
            "lockout_s": rep["lockout_s"], "end_s": rep["end_s"],
        }
        for name, value in sorted(rep.get("metrics", {}).items()):
            row[name] = _num(value)
        row["judgeable"] = bool(rep.get("judgeable", True))
        row["not_judged_reason"] = rep.get("not_judged_reason", "")
        row["faults"] = ";".join(f["code"] for f in rep.get("faults", []))
        row["cues"] = " | ".join(rep.get("cues", []))
        for code in FaultCode:
            row[f"fault_{code.value}"] = code.value in flagged
        for code, check in sorted(rep.get("checks", {}).items()):
            row[f"{code}_status"] = check.get("status")
            row[f"{code}_measured"] = _num(check.get("measured"))
            row[f"{code}_threshold"] = _num(check.get("threshold"))
            row[f"{code}_severity"] = _num(check.get("severity"))
        for key in ("file", "path", "exercise", "recognized", "view", "near_side", "capture_quality"):
            row[key] = base[key]
        for key, value in job.extra.items():  # a manifest column never overwrites a measured one
            row[f"manifest_{key}" if key in row or f"manifest_{key}" in base else key] = value
        rows.append(row)
    return rows


def _frame(rows: list[dict[str, Any]], first: Sequence[str]) -> Any:
    import pandas as pd

    columns: dict[str, None] = dict.fromkeys(first)
    for row in rows:
        columns.update(dict.fromkeys(row))
    return pd.DataFrame(rows, columns=list(columns))


def _write_table(frame: Any, path: Path) -> Path:
    """Write a DataFrame as .parquet or .csv via a temp file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if path.suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    os.replace(tmp, path)
    return path


def write_tables(outdir: Path, jobs: Sequence[ClipJob], outcomes: Mapping[str, ClipOutcome]) -> tuple[Path, ...]:
    """reps.parquet/.csv and clips.parquet/.csv in job order (clips without an outcome are left out)."""
    done = [(job, outcomes[job.name]) for job in jobs if job.name in outcomes]
    reps = _frame([row for job, o in done for row in rep_rows(job, o)], ("clip", "rep"))
    clips = _frame([clip_row(job, o) for job, o in done], ("clip",))
    return tuple(_write_table(frame, outdir / name) for frame, name in (
        (reps, "reps.parquet"), (reps, "reps.csv"), (clips, "clips.parquet"), (clips, "clips.csv")))


# --- executors ---------------------------------------------------------------------------------------------


class InlineExecutor(Executor):
    """Runs each call in this process at submit time (one worker: no pool to start)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@contextmanager
def executor_for(batch: BatchOptions) -> Iterator[tuple[Executor, int]]:
    """The executor the batch options ask for (inline, a process pool, or a Dask client's executor) and how
    many clips to keep submitted at once."""
    if batch.scheduler or batch.cluster:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ConfigError("Dask is not installed: pip install 'hinge-analyzer[cluster]'") from exc
        if batch.cluster == "local":
            cluster = LocalCluster(n_workers=batch.workers, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None)
            client = Client(cluster)
        else:
            cluster = None
            try:
                client = Client(batch.scheduler, timeout="30s")
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {batch.scheduler} ({exc})") from exc
        try:
            slots = sum(client.nthreads().values()) or batch.workers
            yield client.get_executor(pure=False), 2 * max(slots, batch.workers)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif batch.workers == 1:
        yield InlineExecutor(), 1
    else:
        import multiprocessing

        # spawn: a fresh interpreter per worker (no forked threads under the pose model)
        pool = ProcessPoolExecutor(max_workers=batch.workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            yield pool, 2 * batch.workers
        except BaseException:  # Ctrl-C or a crash: drop queued clips, don't wait for running ones
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


# --- the batch ---------------------------------------------------------------------------------------------


def _progress(total: int, show: bool) -> Any:
    if not show:
        return None
    import sys

    from tqdm import tqdm

    return tqdm(total=total, desc="clips", unit="clip", dynamic_ncols=True,
                mininterval=0.2 if sys.stderr.isatty() else 5.0)


def _outcome_of(future: Future[ClipOutcome], job: ClipJob, settings: str) -> ClipOutcome:
    """The clip's outcome, or an error row when its worker died (crash, lost Dask worker)."""
    try:
        return future.result()
    except Exception as exc:  # run_clip catches clip errors itself; this is the worker going away
        return ClipOutcome(job.name, str(job.path), "error", "failed", None, "", settings, type(exc).__name__,
                           f"worker failed: {exc}")


def _run_jobs(executor: Executor, capacity: int, jobs: Sequence[ClipJob], outdir: Path, options: AnalyzeOptions,
              settings: str, model_sha: str, rescore: bool) -> Iterator[ClipOutcome]:
    """Outcomes as clips finish, with at most ``capacity`` clips submitted at a time (so Ctrl-C loses only
    the clips in flight, and the inline executor reports each clip as it finishes)."""
    queue = iter(jobs)
    pending: dict[Future[ClipOutcome], ClipJob] = {}
    try:
        while True:
            while len(pending) < capacity and (job := next(queue, None)) is not None:
                pending[executor.submit(run_clip, job, outdir, options, settings, model_sha, rescore)] = job
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield _outcome_of(future, pending.pop(future), settings)
    finally:
        for future in pending:
            future.cancel()


def run_batch(
    inputs: Sequence[Path | str],
    outdir: Path | str,
    options: AnalyzeOptions = AnalyzeOptions(),
    batch: BatchOptions = BatchOptions(),
) -> BatchResult:
    """Analyse every clip found in ``inputs`` into ``outdir`` and write the tables and provenance.json.

    Clips already done with the same content and settings are skipped (their rows still appear).
    On Ctrl-C the finished clips' tables are written and ``interrupted`` is set.
    """
    from analyzer.pipeline import file_sha256
    from analyzer.pose import resolve_model

    try:
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise ConfigError("batch tables need pandas and pyarrow: pip install 'hinge-analyzer[batch]'") from exc
    outdir = Path(outdir)
    jobs = collect_inputs(inputs)
    if not jobs:
        raise InputNotFoundError("no video files found in the inputs")
    if options.exercise != "auto":
        from analyzer.rules import load_rules

        load_rules(options.exercise, options.rules_dir)  # a bad rule table fails before any clip
    try:
        (outdir / CLIPS_DIR).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot create the output folder ({exc.strerror})") from exc
    model = resolve_model()
    settings = settings_hash(options)
    if options.speed.pose_workers == 0 and (batch.workers > 1 or batch.scheduler or batch.cluster):
        # clips already run side by side: a clip splitting itself across processes would oversubscribe
        options = replace(options, speed=replace(options.speed, pose_workers=1))
    outcomes: dict[str, ClipOutcome] = {}
    todo = []
    for job in jobs:  # resume: finished clips are picked up here, without starting any worker
        if not batch.rescore and job.path.is_file():
            sha = file_sha256(job.path)
            report = done_report(outdir / CLIPS_DIR / job.name, sha, settings)
            if report is not None:
                outcomes[job.name] = ClipOutcome(job.name, str(job.path), "ok", "skipped", report, sha, settings)
                continue
        todo.append(job)
    bar = _progress(len(jobs), batch.show_progress)
    reps_found = sum(len(o.report.get("reps", [])) for o in outcomes.values() if o.report)
    interrupted = False
    if bar is not None:
        bar.update(len(outcomes))
        bar.set_postfix(reps=reps_found, errors=0)
    try:
        if todo:
            with executor_for(batch) as (executor, capacity):
                for outcome in _run_jobs(executor, capacity, todo, outdir.resolve(), options, settings,
                                         model.sha256, batch.rescore):
                    outcomes[outcome.name] = outcome
                    reps_found += len(outcome.report.get("reps", [])) if outcome.report else 0
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(reps=reps_found, errors=sum(o.status == "error" for o in outcomes.values()))
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    tables = write_tables(outdir, jobs, outcomes)
    prov = provenance(options, batch, model.sha256)
    prov.update({"clips": len(jobs), "clips_done": len(outcomes), "interrupted": interrupted,
                 "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    _write_atomic(outdir / "provenance.json", json.dumps(prov, indent=2) + "\n")
    ordered = tuple(outcomes[j.name] for j in jobs if j.name in outcomes)
    return BatchResult(outdir=outdir, outcomes=ordered, tables=(*tables, outdir / "provenance.json"),
                       interrupted=interrupted)
