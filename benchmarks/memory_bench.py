"""Peak memory of ``hinge analyze`` against clip length (issue 7: flat with length).

Builds two 1080p clips from one source clip (looped and scaled up, re-encoded with libx264 into a
temporary folder; nothing is kept): a short one and a long one, by default 10 s and 5 min. Runs
``hinge analyze`` (with the annotated video) on each in a fresh process and reports the peak summed
RSS of the process and its children, the wall time, and the long/short ratio.

Usage:
    python benchmarks/memory_bench.py [--clip PATH] [--short-s 10] [--long-s 300] [--json PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import FOOTAGE_CLIP, SAMPLE_CLIP, _run

SIZE_1080P = (1920, 1080)


def looped_clip(source: Path, seconds: float, dest: Path, size: tuple[int, int] = SIZE_1080P) -> Path:
    """``seconds`` of ``source`` played over and over, scaled to ``size`` (landscape), 30 fps."""
    import cv2

    from analyzer.video import VideoWriter, iter_frames

    frames_per_s = 30.0
    t_out = 0.0
    with VideoWriter(dest, *size, frames_per_s, crf=23, preset="ultrafast") as writer:
        while t_out < seconds:
            last = 0.0
            for frame in iter_frames(source):
                if t_out + frame.t >= seconds:
                    break
                writer.write(cv2.resize(frame.image, size, interpolation=cv2.INTER_LINEAR), t_out + frame.t)
                last = frame.t
            t_out += last + 1.0 / frames_per_s
    return dest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=None,
                        help=f"source clip (default: {FOOTAGE_CLIP} when present, else {SAMPLE_CLIP})")
    parser.add_argument("--short-s", type=float, default=10.0)
    parser.add_argument("--long-s", type=float, default=300.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--analyze-args", default="",
                        help="extra flags for both runs, e.g. '--parallel-min-s 5' to split the short clip too, "
                             "so both run with the same number of pose threads")
    args = parser.parse_args(argv)
    source = (args.clip or (FOOTAGE_CLIP if FOOTAGE_CLIP.is_file() else SAMPLE_CLIP)).resolve()
    work = Path(tempfile.mkdtemp(prefix="hinge-memory-"))
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    rows: list[dict[str, Any]] = []
    try:
        for name, seconds in (("short", args.short_s), ("long", args.long_s)):
            clip = looped_clip(source, seconds, work / f"{name}.mp4")
            print(f"{name}: {seconds:g} s at {SIZE_1080P[0]}x{SIZE_1080P[1]} built from {source.name}; analysing...",
                  flush=True)
            outdir = work / f"out_{name}"
            proc = _run([sys.executable, "-m", "analyzer.cli", "analyze", str(clip), "-o", str(outdir), "-q",
                         *shlex.split(args.analyze_args)], work / f"{name}.log")
            report = json.loads((outdir / "report.json").read_text())
            rows.append({"clip": name, "seconds": seconds, "frames": report["clip"]["frames"],
                         "wall_s": proc["process_wall_s"], "peak_tree_rss_mb": proc["peak_tree_rss_mb"],
                         "largest_process_rss_mb": proc["peak_rss_mb"],
                         "pose_run": report["provenance"].get("pose_run"), "reps": len(report["reps"])})
            print(f"  {proc['process_wall_s']:.0f} s wall, peak RSS {proc['peak_tree_rss_mb']:.0f} MB "
                  f"(largest process {proc['peak_rss_mb']:.0f} MB)", flush=True)
            (work / f"{name}.mp4").unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = rows[1]["peak_tree_rss_mb"] / rows[0]["peak_tree_rss_mb"]
    table = "\n".join([
        "| clip | length s | frames | wall s | peak RSS MB, all processes | largest process MB |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {r['clip']} 1080p | {r['seconds']:g} | {r['frames']} | {r['wall_s']:.0f} | "
          f"{r['peak_tree_rss_mb']:.0f} | {r['largest_process_rss_mb']:.0f} |" for r in rows],
        "", f"long / short peak RSS: {ratio:.2f} (target <= 1.2; long <= 600 MB)",
    ])
    print()
    print(table)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"started_utc": started, "source": str(source), "cpus": os.cpu_count(),
                                         "analyze_args": args.analyze_args,
                                         "rows": rows, "ratio": ratio, "markdown": table}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
