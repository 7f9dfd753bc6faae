"""End-to-end accuracy on generated clips: video in, angles, reps and faults out, against exact ground truth.

For each condition (side deadlift clean; with one rounded rep; 45 degrees; front; sensor noise; crf 35;
blur; portrait; variable frame rate; walk-in + set-up in a cluttered gym; the other faults are in the fault
sweep below) this renders a short 540p clip with ``analyzer.synth``, runs the real pipeline on it
(``analyzer.pipeline.analyze``, video off, the deadlift rules as a user would pick them), and compares:

- landmarks found: share of frames where the model found the lifter (``PoseSequence.detected``);
- trunk MAE: the pipeline's trunk inclination (mid-hip -> mid-shoulder, unsigned) against the ground
  truth's image-plane angle (near-side hip -> shoulder, unsigned), over frames where both exist; and
  against the true sagittal (3D) angle, which shows what the view itself hides;
- hip MAE: knee-hip-shoulder (near side) against the ground truth's image-plane angle;
- reps: counted against scripted;
- faults: injected (rep, fault) pairs found, and flags raised on reps where nothing was injected.

Ground-truth frames are matched to the pipeline's by presentation time (they are the same timestamps).
It also times generating a 10 s 720p 30 fps clip with each encoder. A script, not a test: CPU heavy
(about 10 clips through MediaPipe); run it with ``nice``:

    nice -n 5 python benchmarks/synth_accuracy.py            # writes benchmarks/results/<date>_synth_accuracy.{md,json}
    nice -n 5 python benchmarks/synth_accuracy.py --only side_clean,front --keep /tmp/synth-acc
    nice -n 5 python benchmarks/synth_accuracy.py --fault-sweep    # <date>_synth_fault_sweep.{md,json}

The fault sweep injects each fault at several sizes into rep 2 of a 3-rep side-view deadlift (two seeds),
and reads the check's measured value on that rep and on the clean reps beside it, with the shipped rule
table and with every check switched on (a table may switch a check off while it is not validated on real
footage): how large a fault must be before it is found, and what a clean rep reads.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analyzer import synth  # noqa: E402

# The analyzer's fault code for each injectable fault.
FAULT_CODES: Mapping[str, str] = {
    "spine_flexion": "rounded_back",
    "lean_back": "hyperextended_lockout",
    "neck_extension": "neck_craning",
    "hips_rise_early": "hips_rise_first",
    "bar_drift": "bar_drift",
}
SIZE = (960, 540)
SEED = 11


def _deadlift(**kw: Any) -> synth.DeadliftScript:
    return synth.DeadliftScript(reps=3, lead_in_s=0.6, hold_s=0.6, **kw)


@dataclass(frozen=True)
class Condition:
    name: str
    script: synth.LiftScript = field(default_factory=_deadlift)
    azimuth_deg: float = 90.0
    size: tuple[int, int] = SIZE
    portrait: bool = False
    noise_sd: float = 0.0
    crf: int = 23
    scene: synth.Scene = field(default_factory=lambda: synth.Scene(encoder="fast"))


CONDITIONS: tuple[Condition, ...] = (
    Condition("side_clean"),
    Condition("side_rounded_rep2", script=_deadlift(faults=(synth.InjectedFault("spine_flexion", 30.0, (2,)),))),
    Condition("oblique_45", azimuth_deg=45.0),
    Condition("front", azimuth_deg=0.0),
    Condition("noise_sd12", noise_sd=12.0),
    Condition("crf35", crf=35),
    Condition("defocus_6px", scene=synth.Scene(encoder="fast", blur_px=6.0)),
    Condition("portrait_540x960", size=(540, 960), portrait=True),
    Condition("vfr_jitter0.3", scene=synth.Scene(encoder="fast", vfr_jitter=0.3)),
    Condition("walkin_setup_gym", script=_deadlift(walk_in_s=2.5, setup_s=1.0, rest_s=0.8),
              scene=synth.Scene(encoder="fast", background="gym", outfit="red")),
)


def _near(truth_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the ground-truth frame nearest each of ``t``."""
    i = np.clip(np.searchsorted(truth_t, t), 1, len(truth_t) - 1)
    return np.where(np.abs(truth_t[i - 1] - t) <= np.abs(truth_t[i] - t), i - 1, i)


def _true_rep(truth: synth.GroundTruth, lockout_s: float) -> int | None:
    """The scripted rep whose lockout is nearest a counted one's, if within 1 s (else the count is a ghost)."""
    lockouts = np.array([r.lockout_s for r in truth.reps])
    nearest = int(np.argmin(np.abs(lockouts - lockout_s)))
    return truth.reps[nearest].index if abs(lockouts[nearest] - lockout_s) <= 1.0 else None


def run_condition(cond: Condition, work: Path) -> dict[str, Any]:
    from analyzer.kinematics import measure
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.types import PoseSequence

    clip = work / f"{cond.name}.mp4"
    camera = synth.Camera(azimuth_deg=cond.azimuth_deg)
    if cond.portrait:
        camera = synth.portrait_camera(camera)
    started = time.perf_counter()
    truth = synth.render_clip(clip, script=cond.script, camera=camera, body=synth.SEGMENTED_BODY, size=cond.size,
                              seed=SEED, crf=cond.crf, noise_sd=cond.noise_sd, scene=cond.scene)
    render_s = time.perf_counter() - started
    started = time.perf_counter()
    out = work / f"{cond.name}_out"
    report = analyze(clip, out, AnalyzeOptions(exercise="deadlift", video=False)).report
    analyze_s = time.perf_counter() - started
    seq = PoseSequence.load(out / "pose.npz")
    kin = measure(seq)
    idx = _near(truth.t, seq.t)
    true_trunk = np.abs(truth.series("trunk_inclination_deg"))[idx]
    true_sag = np.abs(np.array([f.sagittal["trunk_inclination_deg"] for f in truth.frames]))[idx]
    true_hip = truth.series("hip_angle_deg")[idx]
    ok = np.isfinite(kin.trunk_inclination_deg)
    ok_hip = np.isfinite(kin.hip_angle_deg)

    expected = {(r.index, FAULT_CODES[f["fault"]]) for r in truth.reps for f in (r.faults or ())}
    flagged: set[tuple[int, str]] = set()
    for rep in report.reps:
        index = _true_rep(truth, rep.lockout_s) or -rep.index
        flagged |= {(index, f.code.value) for f in rep.faults}
    return {
        "condition": cond.name,
        "frames": len(seq),
        "landmarks_found_pct": round(100.0 * float(seq.detected.mean()), 1),
        "trunk_mae_deg": round(float(np.mean(np.abs(kin.trunk_inclination_deg[ok] - true_trunk[ok]))), 2),
        "trunk_mae_vs_sagittal_deg": round(float(np.mean(np.abs(kin.trunk_inclination_deg[ok] - true_sag[ok]))), 2),
        "hip_mae_deg": round(float(np.mean(np.abs(kin.hip_angle_deg[ok_hip] - true_hip[ok_hip]))), 2),
        "reps_found": len(report.reps),
        "reps_true": len(truth.reps),
        "faults_injected": len(expected),
        "faults_found": len(expected & flagged),
        "false_flags": len(flagged - expected),
        "flags": sorted(f"{i}:{c}" for i, c in flagged),
        "render_s": round(render_s, 1),
        "analyze_s": round(analyze_s, 1),
    }


# fault, sizes (its unit), the check that should find it
FAULT_SWEEP: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("spine_flexion", (10.0, 20.0, 30.0)),
    ("lean_back", (10.0, 15.0, 20.0, 25.0)),
    ("neck_extension", (15.0, 30.0, 45.0)),
    ("hips_rise_early", (10.0, 15.0, 25.0)),
    ("bar_drift", (0.08, 0.15, 0.25)),
)
SWEEP_SEEDS = (11, 12)


def run_fault_case(kind: str, size: float, seed: int, work: Path) -> dict[str, Any]:
    """One 3-rep side-view deadlift with ``kind`` of ``size`` on rep 2 (``size`` 0: a clean set)."""
    from analyzer.faults import every_check_on, judge
    from analyzer.kinematics import measure
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.rules import load_rules
    from analyzer.types import PoseSequence

    name = f"{kind}_{size:g}_seed{seed}" if size else f"clean_seed{seed}"
    faults = (synth.InjectedFault(kind, size, (2,)),) if size else ()
    clip = work / f"{name}.mp4"
    truth = synth.render_clip(clip, script=_deadlift(faults=faults), camera=synth.Camera(azimuth_deg=90.0),
                              body=synth.SEGMENTED_BODY, size=SIZE, seed=seed, scene=synth.Scene(encoder="fast"))
    out = work / f"{name}_out"
    report = analyze(clip, out, AnalyzeOptions(exercise="deadlift", video=False)).report
    code = FAULT_CODES[kind]
    all_on = judge(report.reps, measure(PoseSequence.load(out / "pose.npz")), every_check_on(load_rules("deadlift")))
    row: dict[str, Any] = {"fault": kind, "size": size, "unit": synth.FAULT_UNITS[kind], "seed": seed,
                           "check": code, "reps_found": len(report.reps)}
    def true_index(rep: Any) -> int:
        return _true_rep(truth, rep.lockout_s) or -1

    shipped = {true_index(rep): rep.checks.get(code, {}) for rep in report.reps}
    on = {true_index(rep): next(j for j in judged if j.code.value == code)
          for rep, judged in zip(report.reps, all_on, strict=True)}
    faulted = on.get(2)
    row["measured"] = round(float(faulted.measured), 3) if faulted is not None else None
    row["threshold"] = round(float(faulted.threshold), 3) if faulted is not None else None
    row["found_shipped"] = shipped.get(2, {}).get("status") == "flagged"
    row["found_all_on"] = bool(faulted is not None and faulted.status == "flagged")
    row["clean_reps_max"] = round(max((float(j.measured) for i, j in on.items() if i != 2
                                       and np.isfinite(j.measured)), default=float("nan")), 3)
    row["false_flags_shipped"] = sorted(f"{true_index(rep)}:{f.code.value}" for rep in report.reps for f in rep.faults
                                        if not (true_index(rep) == 2 and f.code.value == code and size))
    return row


def fault_sweep_markdown(rows: list[dict[str, Any]], load: tuple[float, ...]) -> str:
    lines = [
        f"# Synthetic-clip fault sweep ({dt.date.today()}, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f})",
        "",
        f"3-rep side-view deadlift (generator {synth.GENERATOR_VERSION}), {SIZE[0]}x{SIZE[1]}, 30 fps; one fault on "
        "rep 2. 'measured' is the check's value on rep 2 (same unit as its threshold), 'clean reps' the largest "
        "value on reps 1 and 3; 'found' with the shipped table and with every check switched on. False flags: "
        "anything else the shipped table flagged.",
        "",
        "| fault | size | seed | check | measured | threshold | clean reps (max) | found (shipped) "
        "| found (all checks on) | reps | false flags |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['fault']} | {r['size']:g} {r['unit']} | {r['seed']} | {r['check']} | {r['measured']} | "
                     f"{r['threshold']} | {r['clean_reps_max']} | {'yes' if r['found_shipped'] else 'no'} | "
                     f"{'yes' if r['found_all_on'] else 'no'} | {r['reps_found']} | "
                     f"{', '.join(r['false_flags_shipped']) or '-'} |")
    return "\n".join(lines) + "\n"


def time_generation(work: Path, repeats: int) -> list[dict[str, Any]]:
    """Wall and CPU time to write a 10 s 720p 30 fps clip (3-rep deadlift, trimmed script) per encoder."""
    script = synth.DeadliftScript(reps=3, lead_in_s=0.7, hold_s=0.6)  # 10.0 s
    rows = []
    for encoder in ("writer", "fast"):
        walls, cpus = [], []
        for k in range(repeats):
            before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            truth = synth.render_clip(work / f"speed_{encoder}_{k}.mp4", script=script, body=synth.SEGMENTED_BODY,
                                      size=(1280, 720), fps=30.0, scene=synth.Scene(encoder=encoder))
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        rows.append({"encoder": encoder, "clip_s": round(truth.frames[-1].t, 2), "frames": len(truth.frames),
                     "wall_s_min": round(min(walls), 2), "wall_s_median": round(float(np.median(walls)), 2),
                     "cpu_s_median": round(float(np.median(cpus)), 2), "repeats": repeats})
    return rows


def markdown(rows: list[dict[str, Any]], speed: list[dict[str, Any]], load: tuple[float, ...]) -> str:
    lines = [
        f"# Synthetic-clip accuracy ({dt.date.today()}, load {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f})",
        "",
        f"Clips: 3-rep deadlift (generator {synth.GENERATOR_VERSION}), {SIZE[0]}x{SIZE[1]} unless said, 30 fps, "
        f"seed {SEED}; pipeline: `analyze(..., AnalyzeOptions(exercise='deadlift', video=False))`. "
        "Trunk MAE against the image-plane truth (what a perfect landmarker would give), and against the "
        "sagittal (3D) truth; hip MAE against the image-plane truth.",
        "",
        "| condition | landmarks found % | trunk MAE (deg) | trunk MAE vs 3D (deg) | hip MAE (deg) | reps found/true "
        "| injected faults found | false flags |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['condition']} | {r['landmarks_found_pct']} | {r['trunk_mae_deg']} | "
                     f"{r['trunk_mae_vs_sagittal_deg']} | {r['hip_mae_deg']} | {r['reps_found']}/{r['reps_true']} | "
                     f"{r['faults_found']}/{r['faults_injected']} | {r['false_flags']} |")
    if speed:
        lines += ["", "Generation of a 10 s 1280x720 30 fps clip (render + ground truth + encode):", "",
                  "| encoder | frames | wall s (min) | wall s (median) | CPU s (median) | runs |",
                  "|---|---|---|---|---|---|"]
        for s in speed:
            lines.append(f"| {s['encoder']} | {s['frames']} | {s['wall_s_min']} | {s['wall_s_median']} | "
                         f"{s['cpu_s_median']} | {s['repeats']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated condition names (default: all)")
    parser.add_argument("--keep", type=Path, default=None, help="keep clips and outputs in this folder")
    parser.add_argument("--speed-repeats", type=int, default=3, help="runs per encoder of the 720p timing (0: skip)")
    parser.add_argument("--speed-only", action="store_true", help="only the 720p generation timing")
    parser.add_argument("--fault-sweep", action="store_true",
                        help="only the fault sweep: each fault at several sizes, found or not")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results",
                        help="folder for <date>_synth_accuracy.md and .json")
    args = parser.parse_args(argv)
    wanted = [c for c in CONDITIONS if not args.only or c.name in args.only.split(",")]
    if args.speed_only:
        wanted = []
    elif not wanted:
        print(f"error: no such condition; choose from {[c.name for c in CONDITIONS]}", file=sys.stderr)
        return 2
    load_start = os.getloadavg()
    if args.fault_sweep:
        return _fault_sweep(args.keep, args.out, load_start)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        speed = time_generation(work, args.speed_repeats) if args.speed_repeats > 0 else []
        rows = []
        for cond in wanted:
            rows.append(run_condition(cond, work))
            print(json.dumps(rows[-1]), flush=True)
    text = markdown(rows, speed, load_start)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{dt.date.today()}_synth_{'speed' if args.speed_only else 'accuracy'}"
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(
        {"generator": synth.GENERATOR_VERSION, "size": list(SIZE), "seed": SEED, "load_start": load_start,
         "load_end": os.getloadavg(), "conditions": rows, "generation_720p_10s": speed}, indent=1) + "\n")
    print(f"wrote {stem}.md and {stem}.json")
    return 0


def _fault_sweep(keep: Path | None, out: Path, load_start: tuple[float, ...]) -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for seed in SWEEP_SEEDS:
            for kind, sizes in FAULT_SWEEP:
                for size in sizes:
                    rows.append(run_fault_case(kind, size, seed, work))
                    print(json.dumps(rows[-1]), flush=True)
    text = fault_sweep_markdown(rows, load_start)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"{dt.date.today()}_synth_fault_sweep"
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(
        {"generator": synth.GENERATOR_VERSION, "size": list(SIZE), "seeds": list(SWEEP_SEEDS),
         "load_start": load_start, "load_end": os.getloadavg(), "cases": rows}, indent=1) + "\n")
    print(f"wrote {stem}.md and {stem}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
