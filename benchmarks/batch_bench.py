"""Batch throughput: clips per minute with 1 and 2 workers over a folder, and the scaling factor.

Usage::

    python benchmarks/batch_bench.py                      # ../shared/footage when present, else sample_videos
    python benchmarks/batch_bench.py --clips DIR --max-clips 10 --workers 1 2 4

Each run goes through ``hinge batch --no-video`` into a fresh folder (no pose cache), then the reps and
clips tables of every run are compared with the first run's, row for row.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = REPO.parent / "shared" / "footage"
VOLATILE_COLUMNS = ("seconds", "action")


def _table(path: Path):
    import pandas as pd

    frame = pd.read_parquet(path)
    frame = frame.drop(columns=[c for c in frame.columns if c in VOLATILE_COLUMNS or "path" in c or "dir" in c])
    return frame.sort_values(list(frame.columns[:2])).reset_index(drop=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=FOOTAGE if FOOTAGE.is_dir() else REPO / "sample_videos")
    parser.add_argument("--max-clips", type=int, default=0, help="bench only the first N clips (0 = all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    clips = sorted(p for p in args.clips.iterdir() if p.suffix.lower() in (".mp4", ".mov", ".webm", ".avi"))
    if args.max_clips:
        clips = clips[: args.max_clips]
    with tempfile.TemporaryDirectory(prefix="hinge-batch-bench-") as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        for clip in clips:
            os.symlink(clip.resolve(), inputs / clip.name)
        results = []
        for workers in args.workers:
            out = Path(tmp) / f"out_w{workers}"
            load = os.getloadavg()[0]
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "analyzer.cli", "batch", str(inputs), "-o", str(out),
                            "--workers", str(workers), "--no-video", "-q"], check=True, stdout=subprocess.DEVNULL)
            seconds = time.perf_counter() - started
            results.append((workers, seconds, load, out))
        base_seconds = results[0][1]
        print(f"{len(clips)} clips from {args.clips}")
        print("| workers | wall s | clips/min | scaling | load at start |\n|---:|---:|---:|---:|---:|")
        for workers, seconds, load, _ in results:
            print(f"| {workers} | {seconds:.1f} | {60 * len(clips) / seconds:.2f} | {base_seconds / seconds:.2f} "
                  f"| {load:.2f} |")
        first = results[0][3]
        for workers, _, _, out in results[1:]:
            same = all(_table(first / name).equals(_table(out / name)) for name in ("reps.parquet", "clips.parquet"))
            print(f"tables with {workers} workers equal the first run's row for row: {same}")
        shutil.rmtree(inputs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
