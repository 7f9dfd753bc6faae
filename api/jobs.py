"""The job queue: the ``analyses`` table is the truth, a dispatcher thread claims rows, workers run them.

- A job is claimed with an atomic ``UPDATE ... WHERE status='queued'`` (so two dispatchers never take the
  same row) and sent to a bounded pool of worker processes, or to a Dask scheduler when one is set.
- The worker (``run_job``, in its own process) calls the runner (``analyze_clip`` unless a test injects a
  fake), writes progress to the row (throttled), and finishes it: done with summary fields, or failed
  with a one-line message.
- Every worker write is guarded by ``status='running' AND attempts=<its attempt>``, so a worker from an
  earlier, interrupted attempt can never overwrite a newer one.
- On start, rows left 'running' by a dead server go back to 'queued' (or fail after ``max_attempts``
  starts). ``attempts`` counts starts: the claim adds one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select, update

from analyzer.errors import AnalyzerError
from api.db import Analysis, get_sessionmaker, utcnow
from api.settings import Settings

log = logging.getLogger("hinge.jobs")

ProgressCallback = Callable[[str, float], None]
Runner = Callable[[Path, Path, dict[str, Any], ProgressCallback], None]
"""(clip, outdir, options {'exercise', 'height_m'}, on_progress(stage, fraction 0..1)) -> None; must write
outdir/report.json (and annotated.mp4). Must be a module-level function: it is pickled to the worker."""

POLL_S = 1.0
PROGRESS_STEP_PCT = 2.0
PROGRESS_INTERVAL_S = 0.5
GENERIC_FAILURE = "The analysis failed unexpectedly on the server; try again, and report it if it persists."
WORKER_LOST = "The analysis worker stopped unexpectedly; try again with a shorter clip."


def analyze_clip(clip: Path, outdir: Path, options: dict[str, Any], on_progress: ProgressCallback) -> None:
    """The real runner: ``analyzer.pipeline.analyze`` with the upload's options."""
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.pose_runner import SpeedOptions
    from analyzer.video import VideoLimits

    # the upload's size was already checked against the service's limit; the other limits still apply
    limits = VideoLimits(max_file_mb=float("inf"))
    analyze(clip, outdir, AnalyzeOptions(exercise=options.get("exercise", "auto"), height_m=options.get("height_m"),
                                         limits=limits, speed=SpeedOptions(pose_workers=_pose_workers)),
            on_progress=on_progress)


# Pose processes per analysis in this worker (0 = the analyzer's default, one per core). Set by the
# pool's initializer: with several jobs side by side, one long clip splitting itself would oversubscribe.
_pose_workers = 0


def _init_local_worker(pose_workers: int) -> None:
    global _pose_workers
    _pose_workers = pose_workers


# --- what the worker does ----------------------------------------------------------------------------


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Columns copied from report.json: exercise used, rep counts, trend metrics and the flagged faults."""
    from analyzer.cues import load_cues
    from analyzer.types import FaultCode

    cues = load_cues()
    summary = report.get("summary", {})
    exercise = report.get("exercise", {})
    rules = exercise.get("rules")
    tempo = [v for v in (summary.get("descent_s_cv"), summary.get("ascent_s_cv")) if v is not None]
    reps = report.get("reps", [])
    flags = []
    for rep in reps:
        for fault in rep.get("faults", []):
            code = fault.get("code")
            cue = cues.get(FaultCode(code)) if code in FaultCode._value2member_map_ else None
            flags.append({"rep_index": rep["index"], "fault": fault, "cue": cue})
    return {
        "exercise": rules.split("@")[0] if rules else exercise.get("recognized"),
        "rep_count": len(reps),
        "flagged_rep_count": sum(bool(r.get("faults")) for r in reps),
        "metrics": {
            "depth_mean_deg": summary.get("trunk_incline_max_deg_mean"),
            "depth_cv": summary.get("trunk_incline_max_deg_cv"),
            "tempo_cv": sum(tempo) / len(tempo) if tempo else None,
            "velocity_loss": summary.get("velocity_loss"),
        },
        "flags": flags,
    }


class ProgressWriter:
    """on_progress for the runner: writes percent and stage to the job row at most every 2 % or 0.5 s."""

    def __init__(self, db_url: str, job_id: str, attempt: int) -> None:
        self.sessions = get_sessionmaker(db_url)
        self.job_id, self.attempt = job_id, attempt
        self.percent, self.stage, self.written_at = -100.0, "", 0.0

    def write(self, **values: Any) -> bool:
        """Update the row if this attempt still owns it; False when it no longer does."""
        with self.sessions() as session:
            result = session.execute(
                update(Analysis)
                .where(Analysis.id == self.job_id, Analysis.status == "running", Analysis.attempts == self.attempt)
                .values(**values))
            session.commit()
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def __call__(self, stage: str, fraction: float) -> None:
        percent = round(min(max(fraction, 0.0), 1.0) * 100.0, 1)
        now = time.monotonic()
        if stage == self.stage:
            if percent == self.percent:
                return
            if percent - self.percent < PROGRESS_STEP_PCT and now - self.written_at < PROGRESS_INTERVAL_S:
                return
        self.percent, self.stage, self.written_at = percent, stage, now
        self.write(progress=percent, stage=stage)


def _clear_leftovers(outdir: Path) -> None:
    """Remove staging folders an interrupted attempt left behind (finished outputs are replaced atomically)."""
    if outdir.is_dir():
        for leftover in outdir.glob(".hinge-staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)


def run_job(job_id: str, db_url: str, runner: Runner, attempt: int) -> str:
    """Run one claimed job in this (worker) process and record the outcome; returns the final status."""
    writer = ProgressWriter(db_url, job_id, attempt)
    with writer.sessions() as session:
        job = session.get(Analysis, job_id)
        if job is None or job.status != "running" or job.attempts != attempt:
            return "stale"
        clip, outdir, options = Path(job.clip_path), Path(job.output_dir), dict(job.options or {})
    _clear_leftovers(outdir)
    writer.write(stage="starting", progress=0.0)
    try:
        runner(clip, outdir, options, writer)
        report = json.loads((outdir / "report.json").read_text())
        values = summarize(report)
    except AnalyzerError as exc:
        writer.write(status="failed", error=exc.message, stage="failed", finished_at=utcnow())
        return "failed"
    except Exception:
        log.exception("analysis %s failed", job_id)
        writer.write(status="failed", error=GENERIC_FAILURE, stage="failed", finished_at=utcnow())
        return "failed"
    writer.write(status="done", progress=100.0, stage="done", error=None, finished_at=utcnow(), **values)
    return "done"


# --- where jobs run ----------------------------------------------------------------------------------


class Backend(Protocol):
    def submit(self, job_id: str, attempt: int, *args: Any) -> Any: ...
    def close(self) -> None: ...


class LocalBackend:
    """A bounded pool of worker processes (spawned: the server has threads, and fork + threads can hang)."""

    def __init__(self, workers: int) -> None:
        pose_workers = 0 if workers <= 1 else max(1, (os.cpu_count() or 1) // workers)
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_local_worker, initargs=(pose_workers,))

    def submit(self, job_id: str, attempt: int, *args: Any) -> Future[str]:
        return self.pool.submit(run_job, job_id, *args)

    def close(self) -> None:
        # Jobs in flight are re-queued by the caller; their workers are stopped rather than waited for.
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.kill()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)


class DaskBackend:
    """Jobs as tasks on a Dask cluster. Its workers must see the same data_dir and database."""

    def __init__(self, address: str) -> None:
        from distributed import Client

        self.client = Client(address, timeout=30, set_as_default=False)

    def submit(self, job_id: str, attempt: int, *args: Any) -> Any:
        return self.client.submit(run_job, job_id, *args, key=f"hinge-{job_id}-{attempt}", pure=False, retries=0)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close(timeout=10)


def make_backend(settings: Settings) -> Backend:
    if settings.dask_scheduler:
        return DaskBackend(settings.dask_scheduler)
    return LocalBackend(settings.workers)


class JobService:
    """The dispatcher: claims queued rows while a worker slot is free and hands them to the backend."""

    def __init__(self, settings: Settings, runner: Runner = analyze_clip,
                 backend_factory: Callable[[Settings], Backend] = make_backend) -> None:
        self.settings, self.runner, self.backend_factory = settings, runner, backend_factory
        self.db_url = settings.db_url
        self.sessions = get_sessionmaker(self.db_url)
        self.capacity = settings.workers
        self.backend: Backend | None = None
        self.inflight: dict[str, int] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.broken = False
        self.thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> None:
        self.requeue_interrupted()
        self.thread = threading.Thread(target=self._loop, name="hinge-dispatcher", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        with self.lock:
            owned = dict(self.inflight)
            self.inflight.clear()
        if self.backend is not None:
            self.backend.close()
            self.backend = None
        # a clean shutdown does not count against the job's attempts
        for job_id, attempt in owned.items():
            self._requeue(job_id, attempt, refund=True)

    def notify(self) -> None:
        """A job was queued: look now instead of at the next poll."""
        self.wake.set()

    def requeue_interrupted(self) -> int:
        """Put rows a dead server left 'running' back in the queue; fail those started max_attempts times."""
        with self.sessions() as session:
            requeued = session.execute(
                update(Analysis)
                .where(Analysis.status == "running", Analysis.attempts < self.settings.max_attempts)
                .values(status="queued", stage="queued again after a server restart", progress=0.0))
            session.execute(
                update(Analysis).where(Analysis.status == "running")
                .values(status="failed", stage="failed", finished_at=utcnow(),
                        error=f"The analysis was interrupted {self.settings.max_attempts} times; upload it again."))
            session.commit()
            count = int(requeued.rowcount)  # type: ignore[attr-defined]
        if count:
            log.warning("re-queued %d analysis job(s) left running by an earlier server", count)
        return count

    # dispatching

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(POLL_S)
            self.wake.clear()
            try:
                self._fill()
            except Exception:
                log.exception("dispatcher: could not start queued jobs; retrying")
                time.sleep(POLL_S)

    def _fill(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                if len(self.inflight) >= self.capacity:
                    return
            if self.backend is None or self.broken:
                if self.backend is not None:
                    self.backend.close()
                self.backend, self.broken = self.backend_factory(self.settings), False
            claimed = self.claim_next()
            if claimed is None:
                return
            job_id, attempt = claimed
            with self.lock:
                self.inflight[job_id] = attempt
            try:
                future = self.backend.submit(job_id, attempt, self.db_url, self.runner, attempt)
            except Exception:
                log.exception("could not submit analysis %s", job_id)
                with self.lock:
                    self.inflight.pop(job_id, None)
                self._requeue(job_id, attempt, refund=True)
                self.broken = True
                return
            future.add_done_callback(lambda f, j=job_id, a=attempt: self._finished(j, a, f))

    def claim_next(self) -> tuple[str, int] | None:
        """Atomically move the oldest queued row to 'running'; (id, attempt) or None when the queue is empty."""
        while True:
            with self.sessions() as session:
                candidate = session.scalar(select(Analysis.id).where(Analysis.status == "queued")
                                           .order_by(Analysis.created_at, Analysis.id).limit(1))
                if candidate is None:
                    return None
                result = session.execute(
                    update(Analysis).where(Analysis.id == candidate, Analysis.status == "queued")
                    .values(status="running", attempts=Analysis.attempts + 1, started_at=utcnow(),
                            progress=0.0, stage="waiting for a worker", error=None))
                session.commit()
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    attempts = session.scalar(select(Analysis.attempts).where(Analysis.id == candidate))
                    return candidate, int(attempts or 1)
            # another dispatcher took it first; try the next one

    def _finished(self, job_id: str, attempt: int, future: Any) -> None:
        with self.lock:
            self.inflight.pop(job_id, None)
        if self.stopping.is_set():
            return
        try:
            future.result()
        except BaseException as exc:  # the worker process died, or the cluster lost the task
            log.error("analysis %s: worker lost (%s: %s)", job_id, type(exc).__name__, exc)
            self.broken = self.broken or type(exc).__name__ == "BrokenProcessPool"
            self._requeue(job_id, attempt, refund=False)
        self.wake.set()

    def _requeue(self, job_id: str, attempt: int, *, refund: bool) -> None:
        owned = (Analysis.id == job_id, Analysis.status == "running", Analysis.attempts == attempt)
        with self.sessions() as session:
            if refund or attempt < self.settings.max_attempts:
                session.execute(update(Analysis).where(*owned).values(
                    status="queued", progress=0.0, stage="queued",
                    attempts=Analysis.attempts - 1 if refund else Analysis.attempts))
            else:
                session.execute(update(Analysis).where(*owned).values(
                    status="failed", stage="failed", error=WORKER_LOST, finished_at=utcnow()))
            session.commit()
