"""Throughput benchmark for ``hinge analyze`` against the model's floor and a straightforward loop (issue 7).

On one clip, in one run, it measures:

  a   pose inference alone (``analyzer.pose.PoseEstimator.detect``, the pipeline's PoseOptions) over frames
      decoded and scaled to ``max_side`` beforehand: the model's floor. Extra rows: the landmarker call
      only (no Python post-processing), max_people=1, segmentation off, and both.
  b   ``hinge analyze --no-video`` (subprocess, end to end); b_np the same without the plate search.
  c   ``hinge analyze`` with the annotated video (subprocess, end to end).
  d   a straightforward single-threaded loop written here: PyAV decode, MediaPipe pose on the full-size
      frame (same landmarker options as the pipeline), skeleton drawn with cv2, libx264 encode at full size
      (same crf/preset as the pipeline's RenderOptions), frame by frame.

Every row runs in its own fresh process, so peak RSS (``ru_maxrss`` from ``os.wait4``) and CPU time
(user + sys, including threads and the process's own children) are per row. Wall time is end to end for
the processes a user would run (b, c, d); for the a rows it is the inference loop only (model loading
excluded), since those are the floor. Ratios X/Y are wall-time ratios (how many times longer X takes).

Usage:
    python benchmarks/bench.py [--clip PATH] [--max-seconds N] [--json PATH] [--rows a0,a,b,c,d]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
FOOTAGE_CLIP = REPO.parent / "shared" / "footage" / "ai-workout__deadlift.mp4"
SAMPLE_CLIP = REPO / "sample_videos" / "deadlift_side.mp4"

# name -> (group, description); the order is the run order and the table order
ROWS: dict[str, tuple[str, str]] = {
    "decode": ("-", "decode + scale to max_side only (PyAV, analyzer.video.iter_frames)"),
    "a0": ("a", "landmarker.detect_for_video only, pipeline options, pre-decoded frames"),
    "a": ("a", "PoseEstimator.detect, pipeline PoseOptions, pre-decoded frames (floor)"),
    "a_p1": ("a", "as a, max_people=1"),
    "a_noseg": ("a", "as a, segmentation off"),
    "a_p1_noseg": ("a", "as a, max_people=1 and segmentation off"),
    "b": ("b", "hinge analyze --no-video (subprocess)"),
    "b_np": ("b", "as b, --no-plate: without the plate search (bar speed from the wrists)"),
    "c": ("c", "hinge analyze with annotated video (subprocess)"),
    "c1": ("c", "as c, one pose thread (--pose-workers 1): what the split into threads gains"),
    "bs": ("b", "as b, --people-survey (fast mode: track one person when nobody else is in view)"),
    "cs": ("c", "as c, --people-survey"),
    "d": ("d", "straightforward loop: decode, pose, draw, encode, full size"),
    "d_p1": ("d", "as d, tracking one person (max_people=1)"),
}
DEFAULT_ROWS = tuple(ROWS)
A_VARIANTS = {
    "a0": {}, "a": {}, "a_p1": {"max_people": 1}, "a_noseg": {"segmentation": False},
    "a_p1_noseg": {"max_people": 1, "segmentation": False},
}


def _cpu_self() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _git_state() -> str:
    """Commit the working tree is at, with '+dirty' when analyzer/ or api/ has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "analyzer", "api"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --------------------------------------------------------------------------- workers (run in a fresh process)


def _worker_predecode(spec: dict[str, Any]) -> dict[str, Any]:
    """Decode the clip as the pipeline's pose stage does and store raw RGB frames for the a rows."""
    from analyzer.pose import PoseOptions
    from analyzer.video import iter_frames

    max_side = PoseOptions().max_side
    meta: list[list[float]] = []
    shape: list[int] | None = None
    cpu0, t0 = _cpu_self(), time.perf_counter()
    with open(spec["raw"], "wb") as out:
        for frame in iter_frames(spec["clip"], max_side=max_side):
            if shape is None:
                shape = list(frame.image.shape)
            out.write(frame.image.tobytes())
            meta.append([frame.index, frame.t])
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    Path(spec["raw_meta"]).write_text(json.dumps({"shape": shape, "frames": meta}))
    return {"frames": len(meta), "loop_wall_s": wall, "loop_cpu_s": cpu, "frame_shape": shape}


def _worker_pose(spec: dict[str, Any], row: str) -> dict[str, Any]:
    """Pose over the pre-decoded frames, read one at a time from a raw file (RSS stays one frame)."""
    from analyzer.pose import PoseEstimator, PoseOptions
    from analyzer.video import Frame

    meta = json.loads(Path(spec["raw_meta"]).read_text())
    h, w, ch = meta["shape"]
    options = replace(PoseOptions(), **A_VARIANTS[row])
    buf = np.empty((h, w, ch), np.uint8)
    raw_call = row == "a0"
    found = 0
    with PoseEstimator(options) as estimator, open(spec["raw"], "rb", buffering=0) as src:
        mp = estimator._mp
        landmarker = estimator._landmarker
        estimator._frames_seen = 2  # model logs were silenced in __init__ already; keep the loop uniform
        full_size = tuple(spec["full_size"])
        cpu0, t0 = _cpu_self(), time.perf_counter()
        last_ms = -1
        for index, t in meta["frames"]:
            src.readinto(memoryview(buf).cast("B"))
            if raw_call:
                last_ms = max(int(round(t * 1000.0)), last_ms + 1)
                result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=buf), last_ms)
                found += bool(result.pose_landmarks)
            else:
                found += bool(estimator.detect(Frame(index=int(index), t=float(t), image=buf), full_size))
        wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    return {"frames": len(meta["frames"]), "loop_wall_s": wall, "loop_cpu_s": cpu, "frames_with_person": found,
            "pose_options": asdict(options), "frame_shape": [h, w, ch]}


def _worker_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """(d) The straightforward loop: everything at full size, one frame at a time, no overlap."""
    from fractions import Fraction

    import av
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from analyzer.pose import PoseOptions, resolve_model
    from analyzer.render import RenderOptions
    from analyzer.types import SKELETON_EDGES

    pose, render = PoseOptions(), RenderOptions()
    if spec.get("max_people"):
        pose = replace(pose, max_people=spec["max_people"])
    landmarker = vision.PoseLandmarker.create_from_options(vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(resolve_model().path)),
        running_mode=vision.RunningMode.VIDEO,
        num_poses=pose.max_people,
        min_pose_detection_confidence=pose.min_detection_confidence,
        min_pose_presence_confidence=pose.min_presence_confidence,
        min_tracking_confidence=pose.min_tracking_confidence,
        output_segmentation_masks=pose.segmentation,
    ))
    cpu0, t0 = _cpu_self(), time.perf_counter()
    frames = 0
    with av.open(spec["clip"]) as src, av.open(spec["out"], "w", format="mp4") as dst:
        vin = src.streams.video[0]
        rate = vin.average_rate or Fraction(30)
        out = None
        last_ms = -1
        for frame in src.decode(vin):
            image = frame.to_ndarray(format="rgb24")
            k = int(round(float(getattr(frame, "rotation", 0) or 0) / 90.0)) % 4
            image = np.ascontiguousarray(np.rot90(image, k) if k else image)
            h, w = image.shape[:2]
            h, w = h - h % 2, w - w % 2
            image = np.ascontiguousarray(image[:h, :w])
            if out is None:
                out = dst.add_stream("libx264", rate=rate)
                out.width, out.height, out.pix_fmt = w, h, "yuv420p"
                out.options = {"crf": str(render.crf), "preset": render.preset}
            t_ms = int(round(float(frame.pts * frame.time_base) * 1000.0)) if frame.pts is not None else last_ms + 1
            last_ms = max(t_ms, last_ms + 1)
            result = landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=image), last_ms)
            if result.pose_landmarks:
                pts = [(int(p.x * w), int(p.y * h)) for p in result.pose_landmarks[0]]
                for a, b in SKELETON_EDGES:
                    cv2.line(image, pts[a], pts[b], (80, 220, 255), 3, cv2.LINE_AA)
                for p in pts:
                    cv2.circle(image, p, 4, (255, 170, 40), -1, cv2.LINE_AA)
            for packet in out.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                dst.mux(packet)
            frames += 1
        if out is not None:
            for packet in out.encode(None):
                dst.mux(packet)
    wall, cpu = time.perf_counter() - t0, _cpu_self() - cpu0
    landmarker.close()
    return {"frames": frames, "loop_wall_s": wall, "loop_cpu_s": cpu,
            "encoder": {"crf": render.crf, "preset": render.preset}}


def _worker(row: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    if row == "decode":
        result = _worker_predecode(spec)
    elif row in A_VARIANTS:
        result = _worker_pose(spec, row)
    elif row in ("d", "d_p1"):
        result = _worker_naive({**spec, "max_people": 1 if row == "d_p1" else None})
    else:
        raise SystemExit(f"unknown worker row {row}")
    Path(spec["result"]).write_text(json.dumps(result))


# --------------------------------------------------------------------------- parent


class _TreeMemory:
    """Samples the summed RSS of a process and all its descendants every 50 ms; keeps the peak.

    ``ru_maxrss`` of a waited-for process is the largest single process, so it under-reports a run
    that splits work across child processes; this is the figure a user's machine has to hold.
    """

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            total = 0
            try:
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                        total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                break
            self.peak_mb = max(self.peak_mb, total / 2**20)
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(timeout=2)
        return self.peak_mb


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one process; wall time, CPU time (with its children), its peak RSS and its process tree's."""
    with log.open("wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        memory = _TreeMemory(proc.pid)
        _, status, ru = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        tree_mb = memory.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{tail}")
    return {"process_wall_s": wall, "process_cpu_s": ru.ru_utime + ru.ru_stime, "peak_rss_mb": ru.ru_maxrss / 1024,
            "peak_tree_rss_mb": max(tree_mb, ru.ru_maxrss / 1024)}


def cut_clip(clip: Path, seconds: float, dest: Path) -> Path:
    """The first ``seconds`` of ``clip`` re-encoded (upright, crf 18) into ``dest``."""
    from analyzer.video import VideoWriter, iter_frames, probe

    info = probe(clip)
    writer = None
    for frame in iter_frames(clip):
        if frame.t >= seconds:
            break
        h, w = frame.image.shape[:2]
        h, w = h - h % 2, w - w % 2
        if writer is None:
            writer = VideoWriter(dest, w, h, info.nominal_fps or 30.0, crf=18)
        writer.write(frame.image[:h, :w], frame.t)
    if writer is None:
        raise SystemExit(f"{clip}: no frames in the first {seconds} s")
    writer.close()
    return dest


def _fmt(x: float, digits: int = 1) -> str:
    return "-" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def markdown(rows: list[dict[str, Any]], ratios: dict[str, dict[str, float]]) -> str:
    lines = [
        "| row | what | frames | wall s | fps | realtime x | CPU s/frame | CPU util | peak RSS MB (all processes) "
        "| load1 at start |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['row']} | {r['what']} | {r['frames']} | {_fmt(r['wall_s'])} | {_fmt(r['fps'])} | "
            f"{_fmt(r['realtime_x'], 2)} | {_fmt(r['cpu_s_per_frame'], 4)} | {_fmt(r['cpu_util'], 2)} | "
            f"{_fmt(r['peak_tree_rss_mb'], 0)} | {_fmt(r['load1_start'], 2)} |"
        )
    lines += ["", "| ratio (wall-time ratio; CPU-time ratio in brackets) | value |", "|---|---:|"]
    for name, value in ratios.items():
        lines.append(f"| {name} | {_fmt(value['wall'], 2)} ({_fmt(value['cpu'], 2)}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=None,
                        help=f"clip to benchmark (default: {FOOTAGE_CLIP} when present, else {SAMPLE_CLIP})")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="bench only the first N seconds (cut by re-encoding into a temporary file)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results as JSON here")
    parser.add_argument("--rows", default=",".join(DEFAULT_ROWS),
                        help=f"comma-separated rows to run (default: all: {','.join(DEFAULT_ROWS)})")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work folder (outputs, logs) here")
    parser.add_argument("--_worker", dest="worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--_spec", dest="spec", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.spec)
        return 0

    sys.path.insert(0, str(REPO))
    from analyzer.video import probe

    wanted = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = set(wanted) - set(ROWS)
    if unknown:
        parser.error(f"unknown rows: {sorted(unknown)}; choose from {list(ROWS)}")
    if any(r in A_VARIANTS for r in wanted) and "decode" not in wanted:
        wanted.insert(0, "decode")  # the a rows read the frames it stores
    wanted = [r for r in ROWS if r in wanted]

    clip = args.clip or (FOOTAGE_CLIP if FOOTAGE_CLIP.is_file() else SAMPLE_CLIP)
    clip = clip.resolve()
    work = Path(tempfile.mkdtemp(prefix="hinge-bench-"))
    load_start = _loadavg()
    code = _git_state()
    started_utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"bench started {started_utc}; load average (1, 5, 15 min) {load_start} on {os.cpu_count()} CPUs",
          flush=True)
    try:
        bench_clip = cut_clip(clip, args.max_seconds, work / "cut.mp4") if args.max_seconds else clip
        info = probe(bench_clip)
        frames_expected = info.frame_count
        duration = info.duration_s
        print(f"clip {clip.name}{f' (first {args.max_seconds:g} s)' if args.max_seconds else ''}: "
              f"{info.width}x{info.height} {info.codec} {info.nominal_fps:.2f} fps {duration:.1f} s", flush=True)
        spec = {"clip": str(bench_clip), "raw": str(work / "frames.rgb"), "raw_meta": str(work / "frames.json"),
                "full_size": [info.width, info.height], "out": str(work / "naive.mp4")}
        results: list[dict[str, Any]] = []
        decoded_frames = None
        for row in wanted:
            group, what = ROWS[row]
            load1 = os.getloadavg()[0]
            print(f"  running {row}: {what} ...", end=" ", flush=True)
            log = work / f"{row}.log"
            inner: dict[str, Any] = {}
            if row in ("b", "b_np", "c", "c1", "bs", "cs"):
                outdir = work / f"out_{row}"  # fresh folder each time: no pose cache
                cmd = [sys.executable, "-m", "analyzer.cli", "analyze", str(bench_clip), "-o", str(outdir), "-q"]
                if row in ("b", "b_np", "bs"):
                    cmd.append("--no-video")
                if row == "b_np":
                    cmd.append("--no-plate")
                if row == "c1":
                    cmd += ["--pose-workers", "1"]
                if row in ("bs", "cs"):
                    cmd.append("--people-survey")
                proc = _run(cmd, log)
                report = json.loads((outdir / "report.json").read_text())
                frames = int(report["clip"]["frames"])
                inner = {"timing_s": report.get("provenance", {}).get("timing_s", {}),
                         "pose_run": report.get("provenance", {}).get("pose_run"),
                         "reps": len(report.get("reps", []))}
                wall, cpu = proc["process_wall_s"], proc["process_cpu_s"]
            else:
                spec_path = work / f"{row}.spec.json"
                spec_path.write_text(json.dumps({**spec, "result": str(work / f"{row}.result.json")}))
                proc = _run([sys.executable, str(Path(__file__).resolve()), "--_worker", row, "--_spec",
                             str(spec_path)], log)
                inner = json.loads((work / f"{row}.result.json").read_text())
                frames = int(inner["frames"])
                if group in ("a", "-"):  # the floor rows: the loop alone
                    wall, cpu = inner["loop_wall_s"], inner["loop_cpu_s"]
                else:  # d: end to end like b and c
                    wall, cpu = proc["process_wall_s"], proc["process_cpu_s"]
            if row == "decode":
                decoded_frames = frames
            result = {
                "row": row, "group": group, "what": what, "frames": frames, "wall_s": wall,
                "fps": frames / wall, "realtime_x": duration / wall, "cpu_s": cpu, "cpu_s_per_frame": cpu / frames,
                "cpu_util": cpu / wall, "peak_rss_mb": proc["peak_rss_mb"],
                "peak_tree_rss_mb": proc["peak_tree_rss_mb"], "load1_start": load1,
                "process_wall_s": proc["process_wall_s"], "process_cpu_s": proc["process_cpu_s"], "detail": inner,
            }
            results.append(result)
            print(f"{result['fps']:.1f} fps, {wall:.1f} s wall, RSS {proc['peak_tree_rss_mb']:.0f} MB", flush=True)
        by = {r["row"]: r for r in results}
        ratios = {}
        for num, den in (("b", "a"), ("d", "c"), ("d", "b"), ("c", "a"), ("a", "a0"), ("d", "c1"),
                         ("d", "cs"), ("d", "bs"), ("d_p1", "cs"), ("d_p1", "bs")):
            if num in by and den in by:
                ratios[f"{num}/{den}"] = {"wall": by[num]["wall_s"] / by[den]["wall_s"],
                                          "cpu": by[num]["cpu_s"] / by[den]["cpu_s"]}
        load_end = _loadavg()
        table = markdown(results, ratios)
        print()
        print(f"clip: {clip.name}{f' (first {args.max_seconds:g} s)' if args.max_seconds else ''}, "
              f"{info.width}x{info.height}, {info.nominal_fps:.2f} fps, {duration:.1f} s, "
              f"{decoded_frames or frames_expected} frames")
        print(f"code: {code}")
        print(f"started {started_utc}; load average (1, 5, 15 min) at start {load_start}, at end {load_end}, "
              f"{os.cpu_count()} CPUs (the CPU may be shared with other jobs: wall times and fps move with the "
              "load; CPU s/frame much less)")
        print()
        print(table)
        if args.json:
            payload = {
                "started_utc": started_utc, "code": code, "clip": str(clip), "max_seconds": args.max_seconds,
                "clip_info": asdict(info), "duration_s": duration, "cpus": os.cpu_count(),
                "loadavg_start": load_start, "loadavg_end": load_end, "python": platform.python_version(),
                "platform": platform.platform(), "rows": results, "ratios": ratios, "markdown": table,
            }
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(payload, indent=2))
            print(f"\nwrote {args.json}")
    finally:
        if args.keep:
            with contextlib.suppress(FileNotFoundError):
                (work / "frames.rgb").unlink()
            shutil.copytree(work, args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
