"""The pose pass over a whole clip: survey how many people are in view, then run the model once or, on long
clips, in several threads over overlapping segments (one landmarker each), and stitch the results.

Why segments overlap: MediaPipe's VIDEO mode smooths landmarks over time and tracks from the previous
frame, so a landmarker started cold at a cut would give different landmarks for its first frames than
one that ran through. Each later segment therefore starts ``segment_overlap_s`` before its cut and its
frames before the cut are thrown away; by the cut its tracker and filters have settled.

This module runs threads and the model (the edge); ``plan_segments`` and ``stitch`` are pure.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import AnalyzerError
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

    pose_workers: int = opt(0, "pose model threads on long clips, each over a part of the clip; 0 = one per CPU "
                               "core, at most 4")
    parallel_min_s: float = opt(8.0, "clips at least this long are split across the pose threads (each share "
                                     "at least half of it); a 10 s clip runs 1.2-1.35x faster split with the "
                                     "video, 1.07x without")
    segment_overlap_s: float = opt(2.0, "a later segment starts this early, so its tracker settles by the cut")


@dataclass(frozen=True)
class SegmentPlan:
    """One thread's share: decode from ``decode_from_s``, keep frames in [keep_from_s, keep_to_s)."""

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
    """Threads for a clip: one below ``parallel_min_s``; else up to one per core, each with >= half of it."""
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


# --------------------------------------------------------------------------- the edge: threads
# Segments run in threads of this process, each with its own landmarker and its own decoder. MediaPipe's
# Tasks API calls its C library through ctypes and PyAV decodes without the GIL, so the threads use the
# cores in parallel while the process holds one copy of the runtime: memory grows by one landmarker per
# extra thread, not by a whole process.


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
    survey = _survey(clip, options, model)
    options = _tracked(options, survey)
    workers = worker_count(info.duration_s, speed)
    notes: list[str] = []
    stats = DecodeStats()
    plans = plan_segments(info.duration_s, 1, 0.0)
    timeline = None
    if workers > 1:
        try:
            origin, timeline = frame_times(clip)
        except AnalyzerError as exc:
            notes.append(f"one pose thread: {exc}")
            workers = 1
    if workers > 1 and timeline is not None:
        plans = plan_segments(info.duration_s, workers, speed.segment_overlap_s)
        found = _run_segments(clip, origin, timeline, plans, full_size, options, model, min_interval, stats, on_frame)
    else:
        frames = prefetch(iter_frames(clip, stats, max_side=options.max_side, min_interval_s=min_interval))
        found = detect_people(frames, full_size, options, model=model, on_frame=on_frame)
    seq = lifter_sequence(found, full_size)
    run = PoseRun(survey=survey, tracked_people=options.max_people, workers=workers, segments=plans,
                  analysed_frames=len(seq), thinned_frames=stats.thinned, notes=tuple(notes))
    return seq, stats, run


def _survey(clip: Path | str, options: PoseOptions, model: ModelInfo) -> PeopleSurvey | None:
    if not (options.people_survey and options.max_people > 1):
        return None
    return survey_people(sample_frames(clip, SURVEY_FRAMES, max_side=options.max_side), options, model=model)


def _tracked(options: PoseOptions, survey: PeopleSurvey | None) -> PoseOptions:
    return replace(options, max_people=survey.tracked_people) if survey else options


def _run_segments(clip: Path, origin: float, timeline: np.ndarray, plans: tuple[SegmentPlan, ...],
                  full_size: tuple[int, int], options: PoseOptions, model: ModelInfo, min_interval: float,
                  stats: DecodeStats, on_frame: Callable[[Any], None] | None) -> PeopleFound:
    """Segments in parallel threads, stitched; the first error raised in any thread is re-raised here."""
    lock = threading.Lock()

    def tick(frame: Any) -> None:
        if on_frame is not None:
            with lock:
                on_frame(frame)

    def run(plan: SegmentPlan) -> tuple[PeopleFound, DecodeStats]:
        part_stats = DecodeStats()
        segment = ClipSegment(origin, plan.decode_from_s, plan.keep_to_s)
        frames = iter_frames(clip, part_stats, max_side=options.max_side, min_interval_s=min_interval, segment=segment)
        return detect_people(frames, full_size, options, model=model, on_frame=tick), part_stats

    with ThreadPoolExecutor(max_workers=len(plans), thread_name_prefix="hinge-pose") as pool:
        results = list(pool.map(run, plans))
    for _, part_stats in results:
        stats.merge(part_stats)
    found = stitch([part for part, _ in results], plans, timeline, min_interval)
    # overlaps are decoded (and thinned) twice; count the clip's frames once
    stats.decoded = len(timeline)
    stats.thinned = max(0, len(timeline) - len(found.t)) if min_interval > 0 and stats.thinned else 0
    return found
