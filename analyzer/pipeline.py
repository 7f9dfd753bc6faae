"""The one orchestrator: ``analyze(clip, outdir, options)`` serves the CLI, the API, batch and notebooks.

Flow: probe -> decode + pose (or the cached PoseSequence) -> measure -> reps -> report -> render.
Outputs are staged and moved into OUTDIR only when everything succeeded.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from analyzer import __version__
from analyzer.cues import cues_for, load_cues
from analyzer.errors import NoPersonError
from analyzer.faults import Judgement, faults_of, judge, not_judged
from analyzer.files import file_sha256
from analyzer.filtering import FilterOptions
from analyzer.html_report import write_html
from analyzer.kinematics import Kinematics, frontal_metrics, measure
from analyzer.outputs import StagedOutput
from analyzer.plates import PlateTrack, accept_track, default_thresholds, track_plate
from analyzer.pose import PoseOptions, resolve_model
from analyzer.pose_runner import PoseRun, SpeedOptions, run_pose
from analyzer.recognition import Recognition, recognize
from analyzer.render import RenderOptions, render_video
from analyzer.report import write_json, write_reps_csv
from analyzer.reps import RepWindow, count_reps
from analyzer.rules import EXERCISES, RuleSet, load_rules
from analyzer.types import PoseSequence, Rep, Report
from analyzer.video import DecodeStats, VideoInfo, VideoLimits, even_size, iter_frames, prefetch, probe
from analyzer.view import ViewReport, analyze_view

EXERCISE_CHOICES = ("auto", *EXERCISES)
RECOGNITION_CYCLE_RULES = "kb_swing"

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class AnalyzeOptions:
    """Everything that changes what ``analyze`` produces."""

    exercise: str = "auto"
    video: bool = True
    pose: PoseOptions = field(default_factory=PoseOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    limits: VideoLimits = field(default_factory=VideoLimits)
    render: RenderOptions = field(default_factory=RenderOptions)
    rules_dir: Path | None = None
    height_m: float | None = None
    show_progress: bool = False
    speed: SpeedOptions = field(default_factory=SpeedOptions)
    plate: bool = True
    """Search the frames for a 450 mm plate: bar speed in m/s from the bar's own path (one more decode)."""


@dataclass(frozen=True)
class AnalysisResult:
    report: Report
    outputs: tuple[Path, ...]


class _Progress:
    """tqdm bars on stderr (frames, fps, ETA) plus an optional fraction callback for the service."""

    def __init__(self, show: bool, callback: ProgressCallback | None, total: int, stages: int) -> None:
        self.show, self.callback, self.total, self.stages = show, callback, max(total, 1), stages
        self.stage_index = -1
        self.bar: Any = None
        self.count = 0

    def start(self, name: str) -> Callable[[Any], None]:
        self.close()
        self.stage_index += 1
        self.count = 0
        if self.show:
            import sys

            from tqdm import tqdm

            interactive = sys.stderr.isatty()
            self.bar = tqdm(total=self.total, desc=name, unit="frame", dynamic_ncols=True, leave=True,
                            mininterval=0.2 if interactive else 5.0)
        name_ = name

        def tick(_: Any) -> None:
            self.count += 1
            if self.bar is not None:
                self.bar.update(1)
            if self.callback is not None and self.count % 10 == 0:
                done = (self.stage_index + min(self.count / self.total, 1.0)) / self.stages
                self.callback(name_, done)

        return tick

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def pose_cache_key(clip_sha: str, model_sha: str, pose: PoseOptions) -> str:
    blob = json.dumps({"clip": clip_sha, "model": model_sha, "pose": asdict(pose), "v": 1}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _cached_pose(outdir: Path, key: str) -> PoseSequence | None:
    report_path, pose_path = outdir / "report.json", outdir / "pose.npz"
    if not (report_path.is_file() and pose_path.is_file()):
        return None
    try:
        previous = json.loads(report_path.read_text())
        if previous.get("provenance", {}).get("pose_cache_key") != key:
            return None
        return PoseSequence.load(pose_path)
    except (OSError, ValueError, KeyError):
        return None  # an unreadable cache is just recomputed


def _plate_key(pose_key: str) -> str:
    """The plate track depends on the landmarks (where the hands are) and the plate table."""
    return hashlib.sha256(f"{pose_key}:{default_thresholds().table_sha256}".encode()).hexdigest()


def cached_plate(outdir: Path, pose_key: str, seq: PoseSequence) -> PlateTrack | None:
    """The plate track ``plate.npz`` saved by an earlier run on the same landmarks and plate table, if any."""
    path = Path(outdir) / "plate.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            if str(saved["key"]) != _plate_key(pose_key) or len(saved["radius"]) != len(seq):
                return None
            return accept_track(seq.t, saved["centre"], saved["radius"], saved["searched"], default_thresholds())
    except (OSError, ValueError, KeyError):
        return None  # an unreadable cache is just recomputed


def _save_plate(path: Path, plate: PlateTrack, pose_key: str) -> None:
    with path.open("wb") as handle:
        np.savez_compressed(handle, key=np.array(_plate_key(pose_key)), centre=plate.found_centre,
                            radius=plate.found_radius, searched=plate.searched)


def rep_metrics(signal: np.ndarray, window: RepWindow) -> dict[str, float]:
    """Per-rep numbers from the driving trunk signal (degrees); units in the names.

    Depth is read from the signal the reps were counted on: the 3D trunk angle when the camera is not
    square to the lifter (2D foreshortens it), else the 2D one.
    """
    trunk = signal[window.start:window.end + 1]
    return {
        "trunk_incline_max_deg": float(np.nanmax(trunk)) if np.isfinite(trunk).any() else float("nan"),
        "descent_s": window.bottom_s - window.start_s,
        "ascent_s": window.lockout_s - window.bottom_s,
        "lockout_hold_s": window.end_s - window.lockout_s,
        "rep_s": window.end_s - window.start_s,
    }


def _check_record(j: Judgement) -> dict[str, Any]:
    return {"status": j.status, "measured": j.measured, "threshold": j.threshold, "unit": j.unit,
            "reason": j.reason, "severity": j.fault.severity if j.fault else None}


def judge_reps(reps: tuple[Rep, ...], kin: Kinematics, rules: RuleSet, view: ViewReport,
               cue_table: Any) -> tuple[Rep, ...]:
    """Attach faults (most severe first), at most two cues and every check's outcome to each rep.

    A rep whose form checks all had to be skipped is marked not judgeable, with the reasons.
    """
    judged = []
    unseen = {i for i, rep in enumerate(reps) if not rep.judgeable}  # find_reps: lockout in a tracking gap
    for rep, judgements in zip(reps, judge(reps, kin, rules, unseen_lockouts=unseen, view=view.view), strict=True):
        faults = faults_of(judgements)
        skipped = not_judged(judgements)
        all_skipped = len(skipped) == len(judgements)
        judgeable = rep.judgeable and not all_skipped  # find_reps marks a rep whose lockout was never seen
        reasons = [rep.not_judged_reason] if rep.not_judged_reason else []
        if all_skipped:
            reasons.append("; ".join(sorted(set(skipped.values()))))
        reason = "; ".join(reasons)
        if not view.sagittal and view.view != "unknown":
            reason = reason or f"filmed from the {view.view}: sagittal checks can't be judged from this view"
        judged.append(replace(
            rep, faults=faults, cues=cues_for(faults, cue_table), judgeable=judgeable, not_judged_reason=reason,
            checks={j.code.value: _check_record(j) for j in judgements},
        ))
    return tuple(judged)


def bar_speed_metrics(kin: Kinematics, window: RepWindow) -> dict[str, float]:
    """Peak upward bar speed between the bottom and lockout, named with its unit; NaN (not seen) when the
    speed is known on less than ``plates.min_ascent_coverage`` of those frames."""
    if kin.bar_speed is None:
        return {}
    unit = kin.bar_speed_unit.replace("/", "_per_")
    up = kin.bar_speed[window.bottom:window.lockout + 1]
    seen = np.isfinite(up)
    enough = len(up) > 0 and seen.mean() >= default_thresholds().min_ascent_coverage
    return {f"bar_speed_peak_{unit}": float(np.nanmax(up)) if enough else float("nan")}


def find_reps(seq: PoseSequence, kin: Kinematics, rules: RuleSet) -> tuple[tuple[Rep, ...], str]:
    """Reps and the name of the signal that drove the count ('trunk_2d' or 'trunk_3d')."""
    counted = count_reps(seq, kin.trunk_inclination_deg, rules, kin.hip_angle_deg, kin.trunk_lean_deg,
                         kin.elbow_angle_deg, kin.arm_visibility)
    # a lockout inferred across a tracking gap: the rep counts, but its top was never seen
    unseen = {"ascent_s": float("nan"), "lockout_hold_s": float("nan")}
    reps = tuple(
        Rep(index=i + 1, start_s=w.start_s, bottom_s=w.bottom_s, lockout_s=w.lockout_s, end_s=w.end_s,
            metrics={**rep_metrics(counted.signal, w), **bar_speed_metrics(kin, w),
                     **({} if w.lockout_seen else unseen)},
            judgeable=w.lockout_seen,
            not_judged_reason="" if w.lockout_seen else
            "the lifter was not tracked at lockout: the rep is counted from the ascent before the gap and the "
            "descent after it, and its lockout can't be judged")
        for i, w in enumerate(counted.windows)
    )
    return reps, counted.signal_name


def choose_rules(requested: str, seq: PoseSequence, kin: Kinematics, rules_dir: Path | None
                 ) -> tuple[RuleSet | None, Recognition | None]:
    """The rule table to judge by: the requested exercise, or the recognised one for 'auto'.

    Returns no rules when 'auto' finds no hinge evidence at all (squat, walking, anything else). When
    the verdict is 'not a hinge' but some hinge still scored, the clip is judged as the best-scoring
    hinge rather than losing its reps (the report carries the scores and a warning says so).
    """
    if requested != "auto":
        return load_rules(requested, rules_dir), None
    # the swing's shallower hinged band finds the cycles of every hinge, swings included
    found = recognize(seq, kin.trunk_inclination_deg, kin.knee_angle_deg,
                      load_rules(RECOGNITION_CYCLE_RULES, rules_dir), kin.hip_angle_deg)
    if found.exercise != "not_hinge":
        return load_rules(found.exercise, rules_dir), found
    hinge_scores = {k: v for k, v in found.scores.items() if k != "not_hinge" and v > 0}
    if not hinge_scores:
        return None, found
    return load_rules(max(hinge_scores, key=hinge_scores.__getitem__), rules_dir), found


def _clip_metadata(info: VideoInfo, seq: PoseSequence, stats: DecodeStats, sha: str) -> dict[str, Any]:
    dt = np.diff(seq.t)
    measured_fps = float(1.0 / np.median(dt)) if len(dt) else float("nan")
    variable = bool(len(dt) > 2 and np.std(dt) > 0.1 * np.mean(dt))
    return {
        "file": Path(info.path).name, "sha256": sha, "container": info.container, "codec": info.codec,
        "width": info.width, "height": info.height, "rotation_deg": info.rotation_deg,
        "nominal_fps": info.nominal_fps, "measured_fps": measured_fps, "variable_frame_rate": variable,
        "duration_s": float(seq.t[-1]) if len(seq) else 0.0, "frames": len(seq),
        "frames_lost": stats.lost, "frames_with_lifter": int(seq.detected.sum()),
    }


@dataclass(frozen=True)
class Judged:
    """What judging a PoseSequence found: measures, view, the rule table used, reps and warnings."""

    kin: Kinematics
    view: ViewReport
    rules: RuleSet | None
    recognition: Recognition | None
    reps: tuple[Rep, ...]
    signal_name: str
    warnings: tuple[str, ...]


def judge_pose(seq: PoseSequence, options: AnalyzeOptions = AnalyzeOptions(), *, name: str = "clip",
               plate: PlateTrack | None = None) -> Judged:
    """Measure, find the view, choose the rules, count and judge the reps of one PoseSequence (no I/O
    beyond reading the rule tables); ``plate`` (from the frames) gives bar speed in m/s when accepted.
    Raises NoPersonError when nobody was found in any frame."""
    if not seq.detected.any():
        raise NoPersonError(f"{name}: nobody was found in any frame")
    run_warnings: list[str] = []
    kin = measure(seq, options.filters, height_m=options.height_m, plate=plate)
    view = analyze_view(seq)
    rules, recognition = choose_rules(options.exercise, seq, kin, options.rules_dir)
    signal_name = ""
    if rules is None:
        reps: tuple[Rep, ...] = ()
        run_warnings.append(
            f"this doesn't look like a hip hinge ({recognition.reason if recognition else 'unknown'}); "
            "no reps were judged; pass --exercise to analyse it as a hinge anyway"
        )
    else:
        if recognition is not None and recognition.exercise == "not_hinge":
            run_warnings.append(
                f"this looks more like something other than a hip hinge ({recognition.reason}); "
                f"judged with the {rules.exercise} rules since it also shows hinge evidence"
            )
        found, signal_name = find_reps(seq, kin, rules)
        reps = judge_reps(found, kin, rules, view, load_cues())
    if not view.sagittal and view.view != "unknown":
        run_warnings.append(
            f"filmed from the {view.view}: depth, back, lockout, neck and bar-path checks can't be judged "
            "from this view; film from the side for those"
        )
    if view.quality.verdict == "poor":
        run_warnings.append("capture quality is poor: " + "; ".join(view.quality.reasons))
    return Judged(kin=kin, view=view, rules=rules, recognition=recognition, reps=reps, signal_name=signal_name,
                  warnings=tuple(run_warnings))


def _provenance(options: AnalyzeOptions, rules: RuleSet | None, model: Mapping[str, Any], key: str, cached: bool,
                timing: Mapping[str, float], pose_run: PoseRun | None = None) -> dict[str, Any]:
    return {
        "package": "hinge-analyzer", "version": __version__,
        "model": dict(model),
        "rules": {"id": rules.id, "sha256": rules.sha256} if rules else None,
        "filters": asdict(options.filters), "pose": asdict(options.pose),
        "pose_cache_key": key, "pose_from_cache": cached,
        "pose_run": pose_run.as_dict() if pose_run else None,
        "python": platform.python_version(), "platform": platform.platform(),
        "timing_s": dict(timing),
    }


def build_report(seq: PoseSequence, judged: Judged, options: AnalyzeOptions, *, clip: Mapping[str, Any],
                 provenance: Mapping[str, Any], warnings_before: tuple[str, ...] = ()) -> Report:
    """The Report of a judged PoseSequence; ``warnings_before`` (decode warnings) come first."""
    recognition, rules = judged.recognition, judged.rules
    return Report(
        clip=clip,
        exercise={
            "requested": options.exercise, "rules": rules.id if rules else None,
            "recognized": recognition.exercise if recognition else None,
            "confidence": recognition.confidence if recognition else None,
            "scores": recognition.scores if recognition else {},
            "reason": recognition.reason if recognition else "chosen by the user",
            "rep_signal": judged.signal_name,
        },
        reps=judged.reps,
        summary=_summary(judged.reps, judged.kin, seq, judged.view),
        view=asdict(judged.view),
        warnings=(*warnings_before, *judged.warnings),
        provenance=provenance,
    )


def _write_reports(staged: StagedOutput, report: Report, kin: Kinematics, video: bool) -> None:
    write_json(report, staged.path("report.json"))
    write_html(report, _plot_series(kin), staged.path("report.html"), "annotated.mp4" if video else None)
    write_reps_csv(report.reps, staged.path("reps.csv"))


def analyze_pose(
    seq: PoseSequence,
    outdir: Path | str,
    options: AnalyzeOptions = AnalyzeOptions(),
    *,
    clip: Mapping[str, Any],
    provenance: Mapping[str, Any] | None = None,
) -> AnalysisResult:
    """Re-judge an already estimated PoseSequence (say ``pose.npz``) without the model or the video.

    ``clip`` is the report's clip metadata (from the earlier report.json); ``provenance`` the earlier
    provenance, whose model and pose-cache entries are kept (the landmarks came from that model). The plate
    track saved there (plate.npz) is reused when it matches the landmarks and plate table. Writes
    report.json, report.html and reps.csv to OUTDIR (pose.npz and plate.npz there are left as they are; no
    annotated video, ``options.video`` is ignored). Raises NoPersonError / ConfigError like ``analyze``.
    """
    outdir = Path(outdir)
    before = dict(provenance or {})
    started = time.perf_counter()
    plate = cached_plate(outdir, str(before.get("pose_cache_key", "")), seq) if options.plate else None
    run_warnings: tuple[str, ...] = ()
    if options.plate and plate is None:
        run_warnings = ("no plate track saved with these landmarks (plate.npz), so bar speed comes from the "
                        "wrists; run hinge analyze on the clip again for the speed from the plate",)
    judged = judge_pose(seq, options, name=str(clip.get("file", "clip")), plate=plate)
    timing = {"pose_s": 0.0, "judge_s": time.perf_counter() - started}
    prov = _provenance(options, judged.rules, before.get("model") or {}, str(before.get("pose_cache_key", "")),
                       True, timing)
    prov["pose"] = before.get("pose", prov["pose"])
    prov["rescored"] = True
    with StagedOutput(outdir) as staged:
        report = build_report(seq, judged, options, clip=clip, provenance=prov, warnings_before=run_warnings)
        _write_reports(staged, report, judged.kin, False)
        moved = staged.commit()
    return AnalysisResult(report=report, outputs=tuple(moved))


def analyze(
    clip: Path | str,
    outdir: Path | str,
    options: AnalyzeOptions = AnalyzeOptions(),
    *,
    on_progress: ProgressCallback | None = None,
) -> AnalysisResult:
    """Analyse one clip and write report.json, reps.csv, pose.npz, plate.npz (unless ``options.plate`` is off)
    and (unless disabled) annotated.mp4.

    Raises an AnalyzerError subclass with a one-line message for every bad input; OUTDIR is then
    left as it was.
    """
    clip, outdir = Path(clip), Path(outdir)
    info = probe(clip, options.limits)
    if options.exercise != "auto":
        load_rules(options.exercise, options.rules_dir)  # a bad rule table fails before any decoding
    model = resolve_model()
    run_warnings: list[str] = []
    timing: dict[str, float] = {}
    with StagedOutput(outdir) as staged:
        sha = file_sha256(clip)
        key = pose_cache_key(sha, model.sha256, options.pose)
        progress = _Progress(options.show_progress, on_progress, info.frame_count,
                             1 + int(options.video) + int(options.plate))
        stats = DecodeStats()
        started = time.perf_counter()
        seq = _cached_pose(outdir, key)
        cached = seq is not None
        pose_run = None
        if seq is None:
            try:
                seq, stats, pose_run = run_pose(clip, info, options.pose, options.speed, model=model,
                                                on_frame=progress.start("pose"))
            finally:
                progress.close()
        else:
            stats.decoded = len(seq)
        timing["pose_s"] = time.perf_counter() - started
        if pose_run is not None and pose_run.thinned_frames:
            rate = len(seq) / max(float(seq.t[-1] - seq.t[0]), 1e-9) if len(seq) > 1 else 0.0
            run_warnings.append(
                f"high-frame-rate clip: analysed at {rate:.0f} fps ({pose_run.thinned_frames} of "
                f"{pose_run.thinned_frames + len(seq)} frames skipped by the model); the annotated video "
                "keeps every frame, with landmarks interpolated")
        if stats.lost:
            run_warnings.append(f"{stats.lost} frame(s) could not be decoded and were skipped")
        if stats.timestamp_fixes:
            run_warnings.append(f"{stats.timestamp_fixes} frame(s) had out-of-order timestamps")
        plate = None
        if options.plate:
            started = time.perf_counter()
            plate = cached_plate(outdir, key, seq) if cached else None
            if plate is None:
                try:
                    frames = iter_frames(clip, DecodeStats(), luma=True, only=set(seq.frame_index.tolist()))
                    plate = track_plate(prefetch(frames), seq, on_frame=progress.start("plate"))
                finally:
                    progress.close()
            _save_plate(staged.path("plate.npz"), plate, key)
            timing["plate_s"] = time.perf_counter() - started
        judged = judge_pose(seq, options, name=clip.name, plate=plate)
        seq.save(staged.path("pose.npz"))
        if options.video:
            started = time.perf_counter()
            size = even_size(info.width, info.height, options.render.max_short_side)
            try:
                render_video(
                    prefetch(iter_frames(clip, DecodeStats(), max_side=max(size))), staged.path("annotated.mp4"), size,
                    info.nominal_fps or 30.0, seq, judged.kin, judged.reps, options.render,
                    on_frame=progress.start("video"),
                )
            finally:
                progress.close()
            timing["render_s"] = time.perf_counter() - started
        model_block = {"file": model.path.name, "sha256": model.sha256, "bundled": model.bundled}
        report = build_report(
            seq, judged, options, clip=_clip_metadata(info, seq, stats, sha),
            provenance=_provenance(options, judged.rules, model_block, key, cached, timing, pose_run),
            warnings_before=tuple(run_warnings),
        )
        _write_reports(staged, report, judged.kin, options.video)
        moved = staged.commit()
    if on_progress is not None:
        on_progress("done", 1.0)
    return AnalysisResult(report=report, outputs=tuple(moved))


def _plot_series(kin: Kinematics) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Angle-time series for the HTML report, by plot title."""
    names = {"Trunk inclination": "trunk_inclination_deg", "Hip angle": "hip_angle_deg",
             "Knee angle": "knee_angle_deg", "Neck angle": "neck_angle_deg"}
    return {title: (kin.t, getattr(kin, field)) for title, field in names.items() if hasattr(kin, field)}


def _summary(reps: tuple[Rep, ...], kin: Kinematics, seq: PoseSequence, view: ViewReport) -> dict[str, Any]:
    set_level = set_consistency(reps)
    flagged = sorted({f.code.value for r in reps for f in r.faults})
    return {
        "rep_count": len(reps),
        "reps_flagged": sum(bool(r.faults) for r in reps),
        "faults_seen": flagged,
        "reps_not_judgeable": sum(not r.judgeable for r in reps),
        "view": view.view,
        "capture_quality": view.quality.verdict,
        # hips and shoulders level can only be read with the camera facing the lifter
        "frontal": frontal_metrics(seq) if view.view in ("front", "rear") else {
            "not_judged": f"filmed from the {view.view}: hip and shoulder levelness need a front or rear view"},
        "near_side": view.near_side if view.near_side != "unknown" else kin.side,
        "bar_speed_unit": kin.bar_speed_unit,
        "bar_speed_source": kin.bar_speed_source,
        **set_level,
    }


def coefficient_of_variation(values: np.ndarray) -> float:
    """std / mean over finite values; NaN with fewer than two."""
    finite = values[np.isfinite(values)]
    if len(finite) < 2 or not np.mean(finite):
        return float("nan")
    return float(np.std(finite) / np.mean(finite))


def set_consistency(reps: tuple[Rep, ...]) -> dict[str, float]:
    """Set-level figures: mean depth, rep-to-rep CV of depth and tempo, and velocity loss.

    Velocity loss is 1 - (last rep's peak bar speed / the set's best), the usual fatigue measure.
    """
    def column(name: str) -> np.ndarray:
        return np.array([r.metrics.get(name, np.nan) for r in reps], float)

    depths = column("trunk_incline_max_deg")
    speed_names = sorted({k for r in reps for k in r.metrics if k.startswith("bar_speed_peak_")})
    speeds = column(speed_names[0]) if speed_names else np.array([])
    finite_speeds = speeds[np.isfinite(speeds)]
    loss = float("nan")
    if len(finite_speeds) >= 2 and np.max(finite_speeds) > 0:
        loss = float(1.0 - finite_speeds[-1] / np.max(finite_speeds))
    return {
        "trunk_incline_max_deg_mean": float(np.mean(depths[np.isfinite(depths)])) if np.isfinite(depths).any()
        else float("nan"),
        "trunk_incline_max_deg_cv": coefficient_of_variation(depths),
        "descent_s_cv": coefficient_of_variation(column("descent_s")),
        "ascent_s_cv": coefficient_of_variation(column("ascent_s")),
        "velocity_loss": loss,
    }
