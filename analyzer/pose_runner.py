"""The pose pass over a whole clip: survey how many people are in view, then run the model in one process
or, on long clips, in several processes over overlapping segments, and stitch the results.

Why segments overlap: MediaPipe's VIDEO mode smooths landmarks over time and tracks from the previous
frame, so a landmarker started cold at a cut would give different landmarks for its first frames than
one that ran through. Each later segment therefore starts ``segment_overlap_s`` before its cut and its
frames before the cut are thrown away; by the cut its tracker and filters have settled.

This module spawns processes (the edge); ``plan_segments`` and ``stitch`` are pure.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import AnalyzerError, ModelError
from analyzer.options import opt
from analyzer.pose import (
    SURVEY_FRAMES,
    ModelInfo,
    PeopleFound,
    PeopleSurvey,
    PoseOptions,
    detect_people,
    lifter_sequence,
    survey_people,
)
from analyzer.types import PoseSequence
from analyzer.video import (
    ClipSegment,
    DecodeStats,
    VideoInfo,
    frame_times,
    iter_frames,
    prefetch,
    sample_frames,
)

MAX_AUTO_WORKERS = 4


@dataclass(frozen=True)
class SpeedOptions:
    """How the pose pass uses the machine. These change speed, not results beyond a stated tolerance."""

    pose_workers: int = opt(0, "processes for pose estimation on long clips; 0 = one per CPU core, at most 4")
    parallel_min_s: float = opt(20.0, "clips at least this long are split across the pose processes")
    segment_overlap_s: float = opt(2.0, "a later segment starts this early, so its tracker settles by the cut")


@dataclass(frozen=True)
class SegmentPlan:
    """One process's share: decode from ``decode_from_s``, keep frames in [keep_from_s, keep_to_s)."""

    decode_from_s: float
    keep_from_s: float
    keep_to_s: float


@dataclass(frozen=True)
class PoseRun:
    """What the pose pass did, for the report's provenance."""

    survey: PeopleSurvey | None
    tracked_people: int
    workers: int
    segments: tuple[SegmentPlan, ...]
    analysed_frames: int
    thinned_frames: int
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "survey": self.survey.as_dict() if self.survey else None,
            "tracked_people": self.tracked_people,
            "workers": self.workers,
            "segments_s": [[round(s.keep_from_s, 3), round(s.keep_to_s, 3) if math.isfinite(s.keep_to_s) else None]
                           for s in self.segments],
            "analysed_frames": self.analysed_frames,
            "thinned_frames": self.thinned_frames,
            "notes": list(self.notes),
        }


def worker_count(duration_s: float, speed: SpeedOptions, cpus: int | None = None) -> int:
    """Processes for a clip: one below ``parallel_min_s``; else up to one per core, each with >= half of it."""
    cpus = cpus or os.cpu_count() or 1
    wanted = speed.pose_workers if speed.pose_workers > 0 else min(cpus, MAX_AUTO_WORKERS)
    if wanted <= 1 or duration_s < speed.parallel_min_s:
        return 1
    return max(1, min(wanted, int(duration_s // (speed.parallel_min_s / 2))))


def plan_segments(duration_s: float, workers: int, overlap_s: float) -> tuple[SegmentPlan, ...]:
    """Equal shares of the clip; the first starts at 0 and the last runs to the end (``inf``)."""
    if workers <= 1:
        return (SegmentPlan(0.0, 0.0, math.inf),)
    cuts = [duration_s * k / workers for k in range(workers)] + [math.inf]
    return tuple(
        SegmentPlan(max(0.0, cuts[k] - (overlap_s if k else 0.0)), cuts[k], cuts[k + 1]) for k in range(workers)
    )


def stitch(parts: list[PeopleFound], plans: tuple[SegmentPlan, ...], timeline: np.ndarray,
           min_interval_s: float) -> PeopleFound:
    """One PeopleFound from segment results: each keeps its own share, frames numbered on the clip's timeline.

    A rate cap is applied again across the joins, so the stitched frames are spaced as one pass would.
    """
    times: list[float] = []
    people: list[list[Any]] = []
    keep_after = min_interval_s * 0.9
    for part, plan in zip(parts, plans, strict=True):
        for t, found in zip(part.t, part.people, strict=True):
            if not plan.keep_from_s - 1e-6 <= t < plan.keep_to_s - 1e-6:
                continue
            if times and (t <= times[-1] or t - times[-1] < keep_after):
                continue
            times.append(t)
            people.append(found)
    index = _nearest(timeline, np.asarray(times, np.float64)) if len(timeline) else np.arange(len(times))
    return PeopleFound(t=times, index=[int(i) for i in index], people=people)


def _nearest(sorted_times: np.ndarray, t: np.ndarray) -> np.ndarray:
    right = np.clip(np.searchsorted(sorted_times, t), 0, len(sorted_times) - 1)
    left = np.clip(right - 1, 0, len(sorted_times) - 1)
    return np.where(np.abs(sorted_times[left] - t) <= np.abs(sorted_times[right] - t), left, right)


# --------------------------------------------------------------------------- the edge: processes
# Segments run in fresh interpreters (``python -m analyzer.pose_runner JOB``) rather than through
# multiprocessing: that works the same from the CLI, a notebook, an unguarded script, a Dask worker or
# a daemonic pool process, and a crashed model takes down only its own process.


@dataclass(frozen=True)
class _SegmentJob:
    clip: str
    segment: ClipSegment
    full_size: tuple[int, int]
    options: PoseOptions
    model: ModelInfo
    min_interval_s: float
    result_path: str


def _segment_main(job_path: str) -> int:
    """Child process: run one segment, report progress on stdout, pickle the result (or the error)."""
    job: _SegmentJob = pickle.loads(Path(job_path).read_bytes())
    stats = DecodeStats()
    count = 0
    parent = os.getppid()

    def tick(_: Any) -> None:
        nonlocal count
        count += 1
        if count % 5 == 0:
            if os.getppid() != parent:  # the analysis that started us was killed: stop, don't run on orphaned
                os._exit(1)
            print(count, flush=True)

    try:
        survey = _survey(job.clip, job.options, job.model)  # the same 16 frames in every process: same answer
        frames = prefetch(iter_frames(job.clip, stats, max_side=job.options.max_side,
                                      min_interval_s=job.min_interval_s, segment=job.segment))
        found = detect_people(frames, job.full_size, _tracked(job.options, survey), model=job.model, on_frame=tick)
        outcome: Any = (found, stats, survey)
    except AnalyzerError as exc:
        outcome = exc
    print(count, flush=True)
    tmp = Path(job.result_path + ".part")
    tmp.write_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(tmp, job.result_path)
    return 0


def _min_interval(options: PoseOptions) -> float:
    return 1.0 / options.max_analysis_fps if options.max_analysis_fps > 0 else 0.0


def run_pose(
    clip: Path,
    info: VideoInfo,
    options: PoseOptions,
    speed: SpeedOptions = SpeedOptions(),
    *,
    model: ModelInfo,
    on_frame: Callable[[Any], None] | None = None,
) -> tuple[PoseSequence, DecodeStats, PoseRun]:
    """The lifter's PoseSequence for a clip, with decode statistics and a record of how it was made."""
    full_size = (info.width, info.height)
    min_interval = _min_interval(options)
    workers = worker_count(info.duration_s, speed)
    notes: list[str] = []
    stats = DecodeStats()
    found: PeopleFound | None = None
    survey: PeopleSurvey | None = None
    plans = plan_segments(info.duration_s, 1, 0.0)
    if workers > 1:
        try:
            origin, timeline = frame_times(clip)
        except AnalyzerError as exc:
            notes.append(f"one pose process: {exc}")
            workers = 1
        else:
            plans = plan_segments(info.duration_s, workers, speed.segment_overlap_s)
            outcome = _run_segments(clip, origin, timeline, plans, full_size, options, model, min_interval, stats,
                                    on_frame, notes)
            if outcome is None:
                workers, plans = 1, plan_segments(info.duration_s, 1, 0.0)
            else:
                found, survey = outcome
    if found is None:
        # The survey runs here only on this path: a split clip's processes each run it themselves, so
        # this process never loads the model and memory stays one model per process.
        survey = _survey(clip, options, model)
        stats = DecodeStats()
        frames = prefetch(iter_frames(clip, stats, max_side=options.max_side, min_interval_s=min_interval))
        found = detect_people(frames, full_size, _tracked(options, survey), model=model, on_frame=on_frame)
    seq = lifter_sequence(found, full_size)
    run = PoseRun(survey=survey, tracked_people=_tracked(options, survey).max_people, workers=workers,
                  segments=plans, analysed_frames=len(seq), thinned_frames=stats.thinned, notes=tuple(notes))
    return seq, stats, run


def _survey(clip: Path | str, options: PoseOptions, model: ModelInfo) -> PeopleSurvey | None:
    if not (options.people_survey and options.max_people > 1):
        return None
    return survey_people(sample_frames(clip, SURVEY_FRAMES, max_side=options.max_side), options, model=model)


def _tracked(options: PoseOptions, survey: PeopleSurvey | None) -> PoseOptions:
    return replace(options, max_people=survey.tracked_people) if survey else options


def _run_segments(clip: Path, origin: float, timeline: np.ndarray, plans: tuple[SegmentPlan, ...],
                  full_size: tuple[int, int], options: PoseOptions, model: ModelInfo, min_interval: float,
                  stats: DecodeStats, on_frame: Callable[[Any], None] | None,
                  notes: list[str]) -> tuple[PeopleFound, PeopleSurvey | None] | None:
    """Segments in parallel child processes; None (with a note) when they can't be started here."""
    counts = [0] * len(plans)
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="hinge-pose-") as tmp:
        children: list[tuple[subprocess.Popen[str], Path]] = []
        try:
            for k, plan in enumerate(plans):
                job = _SegmentJob(str(clip), ClipSegment(origin, plan.decode_from_s, plan.keep_to_s), full_size,
                                  options, model, min_interval, str(Path(tmp) / f"segment{k}.pickle"))
                job_path = Path(tmp) / f"job{k}.pickle"
                job_path.write_bytes(pickle.dumps(job))
                with open(Path(tmp) / f"stderr{k}.log", "w") as stderr:  # a file: a full pipe would block it
                    child = subprocess.Popen([sys.executable, "-m", "analyzer.pose_runner", str(job_path)],
                                             stdout=subprocess.PIPE, stderr=stderr, text=True)
                children.append((child, Path(job.result_path)))
        except OSError as exc:
            for child, _ in children:
                child.kill()
            notes.append(f"one pose process: could not start more ({exc})")
            return None

        def follow(k: int, child: subprocess.Popen[str]) -> None:
            assert child.stdout is not None
            for line in child.stdout:
                with lock:
                    counts[k] = int(line) if line.strip().isdigit() else counts[k]

        readers = [threading.Thread(target=follow, args=(k, c), daemon=True) for k, (c, _) in enumerate(children)]
        for reader in readers:
            reader.start()
        reported = 0
        try:
            while any(child.poll() is None for child, _ in children):
                time.sleep(0.2)
                reported = _report(on_frame, counts, lock, reported)
        finally:  # Ctrl-C or an error here must not leave model processes running
            for child, _ in children:
                if child.poll() is None:
                    child.kill()
        for reader in readers:
            reader.join(timeout=5)
        _report(on_frame, counts, lock, reported)
        parts: list[PeopleFound] = []
        surveys: list[PeopleSurvey | None] = []
        for k, (child, result) in enumerate(children):
            if not result.is_file():
                error = (Path(tmp) / f"stderr{k}.log").read_text(errors="replace").strip().splitlines()
                raise ModelError(f"a pose process failed (exit {child.returncode}): "
                                 f"{error[-1] if error else 'no message'}; retry with --pose-workers 1")
            outcome = pickle.loads(result.read_bytes())
            if isinstance(outcome, AnalyzerError):
                raise outcome
            part, part_stats, survey = outcome
            parts.append(part)
            surveys.append(survey)
            stats.merge(part_stats)
    if len({s.tracked_people if s else None for s in surveys}) > 1:
        raise ModelError("the pose processes disagreed on how many people are in view; retry with --pose-workers 1")
    found = stitch(parts, plans, timeline, min_interval)
    stats.decoded = len(timeline)  # overlaps are decoded twice; count the clip's frames once
    return found, surveys[0]


def _report(on_frame: Callable[[Any], None] | None, counts: list[int], lock: threading.Lock, reported: int) -> int:
    with lock:
        total = sum(counts)
    if on_frame is not None:
        for _ in range(total - reported):
            on_frame(None)
    return total


if __name__ == "__main__":
    sys.exit(_segment_main(sys.argv[1]))
