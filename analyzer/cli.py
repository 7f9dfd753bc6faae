"""``hinge``: the command line. Flags and their help come from the option dataclasses' defaults.

Errors from the analyzer print one line on stderr and exit with the error's code; no tracebacks
(set HINGE_DEBUG=1 to see them).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analyzer import __version__
from analyzer.errors import AnalyzerError, ConfigError, InputNotFoundError
from analyzer.runtime import limit_malloc_arenas

EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 1


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """One flag per field of an option dataclass; help text and default come from the field."""
    group = parser.add_argument_group(title)
    for f in dataclasses.fields(cls):
        default = f.default
        help_text = f.metadata.get("help", "")
        if isinstance(default, bool):
            group.add_argument(_flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction,
                               default=default, help=f"{help_text} (default: {default})")
        else:
            group.add_argument(_flag(f.name), dest=f.name, type=type(default), default=default,
                               metavar=type(default).__name__.upper(),
                               help=f"{help_text} (default: {default})")


def _build_options(cls: type, args: argparse.Namespace) -> Any:
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)})


def _parser() -> argparse.ArgumentParser:
    from analyzer.filtering import FilterOptions
    from analyzer.pipeline import EXERCISE_CHOICES
    from analyzer.pose import PoseOptions
    from analyzer.pose_runner import SpeedOptions
    from analyzer.render import RenderOptions
    from analyzer.video import VideoLimits

    parser = argparse.ArgumentParser(
        prog="hinge", description="Hip-hinge form analyzer: per-rep depth, tempo and an annotated video.",
    )
    parser.add_argument("--version", action="version", version=f"hinge-analyzer {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    analyze = commands.add_parser(
        "analyze", help="analyse one clip",
        description="Analyse one clip: writes annotated.mp4, report.json, report.html, reps.csv, pose.npz and "
                    "plate.npz (the plate search) to OUTDIR.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    analyze.add_argument("clip", type=Path, help="video file (MP4, MOV, WebM, AVI, GIF, ...)")
    analyze.add_argument("-o", "--outdir", type=Path, required=True, help="output folder (created if missing)")
    analyze.add_argument("--exercise", choices=EXERCISE_CHOICES, default="auto",
                         help="which rule table to judge by")
    analyze.add_argument("--no-video", dest="video", action="store_false",
                         help="skip the annotated video (faster)")
    analyze.add_argument("--no-plate", dest="plate", action="store_false",
                         help="skip the search for a 450 mm plate (one decode less; bar speed then comes from the "
                              "wrists, in m/s only with --height-m)")
    analyze.add_argument("--rules-dir", type=Path, default=None,
                         help="folder of <exercise>.toml rule tables to use instead of the packaged ones")
    analyze.add_argument("--height-m", type=float, default=None,
                         help="lifter's height in metres: bar speed in m/s from the wrists when no plate is "
                              "found (a 450 mm plate filmed from the side gives m/s by itself)")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    analyze.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    add_dataclass_flags(analyze, VideoLimits, "input limits")
    add_dataclass_flags(analyze, PoseOptions, "pose model")
    add_dataclass_flags(analyze, FilterOptions, "signal cleaning")
    add_dataclass_flags(analyze, RenderOptions, "annotated video")
    add_dataclass_flags(analyze, SpeedOptions, "speed")

    evaluate = commands.add_parser(
        "eval", help="score the analyzer against a labelled set of clips",
        description="Run the pipeline over labelled clips and print rep-count, view, exercise and per-fault "
                    "figures; writes a per-clip table (eval_clips.csv) and eval_scores.json to --out.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    evaluate.add_argument("labels", type=Path, help="CSV with columns file, reps (+ exercise, view, faults)")
    evaluate.add_argument("--clips", type=Path, required=True, help="folder holding the labelled clips")
    evaluate.add_argument("--out", type=Path, default=Path("eval_out"),
                          help="working folder: per-clip outputs (reused on rerun) and the tables")
    evaluate.add_argument("--workers", type=int, default=1,
                          help="clips analysed at once, each in its own process (2 keeps both cores of a "
                               "2-core machine busy on short clips; each process needs ~0.5 GB)")
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    batch = commands.add_parser(
        "batch", help="analyse many clips (folders, files, CSV manifests) into tidy tables",
        description="Analyse every clip into OUTDIR/clips/<name>/ and write reps.parquet/.csv (one row per rep), "
                    "clips.parquet/.csv (one row per clip) and provenance.json. A rerun skips finished clips.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    batch.add_argument("inputs", type=Path, nargs="+", metavar="INPUT",
                       help="clip files, folders (searched recursively) or CSV manifests with a 'path' column")
    batch.add_argument("-o", "--outdir", type=Path, required=True, help="output folder (created if missing)")
    batch.add_argument("--workers", type=int, default=1,
                       help="parallel clips: local processes, or Dask workers with --cluster local")
    where = batch.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                       help="run on an existing Dask cluster (needs the 'cluster' extra)")
    where.add_argument("--cluster", choices=("local",), default=None,
                       help="start a Dask LocalCluster on 127.0.0.1 with --workers processes")
    batch.add_argument("--exercise", choices=EXERCISE_CHOICES, default="auto", help="which rule table to judge by")
    batch.add_argument("--no-video", dest="video", action="store_false", help="skip the annotated videos")
    batch.add_argument("--rules-dir", type=Path, default=None,
                       help="folder of <exercise>.toml rule tables to use instead of the packaged ones")
    batch.add_argument("--rescore", action="store_true",
                       help="re-judge from each clip's cached pose.npz (new thresholds) without running the model")
    batch.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    synth = commands.add_parser(
        "synth", help="regenerate the generated sample clips and their ground truth",
        description="Render the project's synthetic sample clips (deterministic) with ground-truth JSON beside each.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    synth.add_argument("-o", "--outdir", type=Path, default=Path("sample_videos"), help="output folder")
    single = synth.add_argument_group(
        "one clip", "give --exercise to render a single clip (named after its settings, or --name) instead of the "
        "sample set")
    single.add_argument("--exercise", choices=("deadlift", "rdl", "good_morning", "kb_swing", "squat"), default=None,
                        help="lift to script")
    single.add_argument("--view", choices=("side", "oblique", "front", "side_left"), default="side",
                        help="camera: side (lifter's right), oblique (45 deg front-right), front, side_left")
    single.add_argument("--fault", action="append", default=[], metavar="KIND:SIZE[@REPS]",
                        help="inject a fault, e.g. spine_flexion:30@2, lean_back:10, neck_extension:20, "
                             "hips_rise_early:25@1,3, bar_drift:0.06 (deg; metres for bar_drift); repeatable")
    single.add_argument("--reps", type=int, default=None, help="number of reps (default: the script's)")
    single.add_argument("--seed", type=int, default=0, help="seed of the rep-to-rep variation")
    single.add_argument("--noise", type=float, default=0.0, help="sensor noise, sd in grey levels")
    single.add_argument("--crf", type=int, default=23, help="H.264 quality: higher is smaller and blockier")
    single.add_argument("--size", default="960x540", help="WIDTHxHEIGHT, both even (landscape; see --orientation)")
    single.add_argument("--orientation", choices=("landscape", "portrait"), default="landscape",
                        help="portrait swaps WIDTHxHEIGHT and turns the camera as a phone held upright")
    single.add_argument("--fps", type=float, default=30.0, help="frame rate, 24-60")
    single.add_argument("--vfr", type=float, default=0.0, metavar="JITTER",
                        help="variable frame rate: frame intervals vary by exp(N(0, JITTER)); 0 = constant")
    single.add_argument("--walk-in", type=float, default=0.0, metavar="S",
                        help="seconds walking into place before the set")
    single.add_argument("--setup", type=float, default=0.0, metavar="S",
                        help="set-up before rep 1 (deadlift: hinge down to the bar and hold S seconds)")
    single.add_argument("--rest", type=float, default=0.0, metavar="S", help="standing pause between reps")
    single.add_argument("--background", choices=("plain", "gradient", "gym"), default="plain",
                        help="scene behind the lifter")
    single.add_argument("--outfit", choices=("blue", "red", "grey", "black", "white"), default="blue",
                        help="shirt and shorts colours")
    single.add_argument("--blur", type=float, default=0.0, metavar="PX", help="blur size in pixels (0 = sharp)")
    single.add_argument("--blur-kind", choices=("defocus", "motion"), default="defocus",
                        help="defocus (disc) or motion (horizontal streak)")
    single.add_argument("--encoder", choices=("fast", "writer"), default="fast",
                        help="fast: OpenCV colour conversion + x264 frame threads; writer: as the sample clips")
    single.add_argument("--preset", default="veryfast", help="libx264 preset")
    single.add_argument("--name", default=None, help="file stem (default: built from the settings)")
    _add_service_commands(commands)
    return parser


# --- the web service: hinge serve / hinge users (implemented in api/cli.py) ----------------------------


def _add_service_commands(commands: Any) -> None:
    from api.cli import add_service_commands

    add_service_commands(commands)


def _run_service(args: argparse.Namespace) -> int:
    from api.cli import run_service_command

    return run_service_command(args)


# -------------------------------------------------------------------------------------------------------


def _run_eval(args: argparse.Namespace) -> int:
    from functools import partial

    from analyzer.evaluate import analyze_to_report, evaluate, format_scores, scores_json, write_table
    from analyzer.pipeline import AnalyzeOptions

    if not args.clips.is_dir():
        raise InputNotFoundError(f"{args.clips}: no such folder of clips")
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    analyze_clip = partial(analyze_to_report, options=AnalyzeOptions(video=False))

    def progress(rows: Any) -> Any:
        if args.quiet:
            return rows
        from tqdm import tqdm

        return tqdm(list(rows), desc="clips", unit="clip")

    args.out.mkdir(parents=True, exist_ok=True)
    results, scores = evaluate(args.labels, args.clips, args.out, analyze_clip, progress, workers=args.workers)
    write_table(results, args.out / "eval_clips.csv")
    (args.out / "eval_scores.json").write_text(scores_json(scores) + "\n")
    print(format_scores(scores))
    print(f"wrote {args.out / 'eval_clips.csv'} and {args.out / 'eval_scores.json'}")
    return 0


def _run_batch(args: argparse.Namespace) -> int:
    from analyzer.batch import BatchOptions, run_batch
    from analyzer.pipeline import AnalyzeOptions

    options = AnalyzeOptions(exercise=args.exercise, video=args.video, rules_dir=args.rules_dir)
    batch = BatchOptions(workers=args.workers, scheduler=args.scheduler, cluster=args.cluster,
                         rescore=args.rescore, show_progress=not args.quiet)
    result = run_batch(args.inputs, args.outdir, options, batch)
    for outcome in result.outcomes:
        if outcome.status == "error":
            print(f"error: {outcome.name}: {outcome.error}", file=sys.stderr)
    actions = {a: sum(o.action == a for o in result.outcomes) for a in ("analyzed", "rescored", "skipped")}
    print(f"{len(result.outcomes)} clip(s): {actions['analyzed']} analysed, {actions['rescored']} re-scored, "
          f"{actions['skipped']} already done, {result.errors} failed; {result.reps} rep(s)")
    for path in result.tables:
        print(f"wrote {path}")
    if result.interrupted:
        print("interrupted: the finished clips' rows were kept; rerun to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _run_synth(args: argparse.Namespace) -> int:
    from analyzer import synth

    if args.exercise is None:
        for path in synth.make_sample_videos(args.outdir):
            print(f"wrote {path}")
        return 0
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
        if args.orientation == "portrait":
            width, height = min(width, height), max(width, height)
        lo, hi = synth.FPS_RANGE
        if not lo <= args.fps <= hi:
            raise ValueError(f"--fps must be between {lo:g} and {hi:g}, got {args.fps:g}")
        faults = [synth.parse_fault(text) for text in args.fault]
        script = synth.script_for(args.exercise, reps=args.reps, faults=faults, walk_in_s=args.walk_in,
                                  setup_s=args.setup, rest_s=args.rest)
        scene = synth.Scene(background=args.background, outfit=args.outfit, blur_px=args.blur,
                            blur_kind=args.blur_kind, vfr_jitter=args.vfr, encoder=args.encoder, preset=args.preset)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    camera = synth.Camera(azimuth_deg=synth.VIEWS[args.view])
    if args.orientation == "portrait":
        camera = synth.portrait_camera(camera)
    tags = [f.replace(":", "").replace("@", "_r").replace(",", "") for f in args.fault]
    name = args.name or "_".join([args.exercise, args.view, *tags, f"s{args.seed}"])
    clip = args.outdir / f"{name}.mp4"
    try:
        truth = synth.render_clip(clip, script=script, camera=camera, body=synth.SEGMENTED_BODY,
                                  size=(width, height), fps=args.fps, seed=args.seed, crf=args.crf,
                                  noise_sd=args.noise, scene=scene)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {clip} ({len(truth.frames)} frames, {len(truth.reps)} reps)")
    print(f"wrote {synth.ground_truth_path(clip)}")
    return 0


def _run_analyze(args: argparse.Namespace) -> int:
    from analyzer.filtering import FilterOptions
    from analyzer.pipeline import AnalyzeOptions, analyze
    from analyzer.pose import PoseOptions
    from analyzer.pose_runner import SpeedOptions
    from analyzer.render import RenderOptions
    from analyzer.report import rep_summary
    from analyzer.video import VideoLimits

    options = AnalyzeOptions(
        exercise=args.exercise, video=args.video, rules_dir=args.rules_dir, height_m=args.height_m,
        plate=args.plate, limits=_build_options(VideoLimits, args), pose=_build_options(PoseOptions, args),
        filters=_build_options(FilterOptions, args), render=_build_options(RenderOptions, args),
        show_progress=not args.quiet, speed=_build_options(SpeedOptions, args),
    )
    result = analyze(args.clip, args.outdir, options)
    report = result.report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{report.clip['file']}: {len(report.reps)} rep(s)")
    for rep in report.reps:
        print(f"  rep {rep.index}: {rep.start_s:6.2f}-{rep.end_s:6.2f} s  {rep_summary(rep)}")
        for fault in rep.faults:
            print(f"      {fault.code.value}: {fault.measured:.3g} {fault.unit} (threshold {fault.threshold:.3g})")
        for cue in rep.cues:
            print(f"      cue: {cue}")
        if not rep.judgeable:
            print(f"      not judged: {rep.not_judged_reason}")
    for path in result.outputs:
        print(f"wrote {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    limit_malloc_arenas()
    try:
        if args.command == "analyze":
            return _run_analyze(args)
        if args.command == "eval":
            return _run_eval(args)
        if args.command == "batch":
            return _run_batch(args)
        if args.command == "synth":
            return _run_synth(args)
        if args.command in ("serve", "users"):
            return _run_service(args)
    except AnalyzerError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted: nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("HINGE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set HINGE_DEBUG=1 for details; please report it)",
              file=sys.stderr)
        return EXIT_INTERNAL
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
