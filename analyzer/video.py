"""Video edge: probe, decode upright RGB frames with presentation timestamps, and write H.264.

Only this module and ``render`` touch codecs. PyAV is imported lazily so the pure stages import fast.
Frames come out upright (rotation metadata applied), C-contiguous RGB uint8, and each carries its time
in seconds from the first frame's presentation timestamp (phone clips are often variable frame rate).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import (
    EmptyVideoError,
    InputNotFoundError,
    LimitExceededError,
    NotAVideoError,
    VideoDecodeError,
)
from analyzer.options import opt

# Demuxers that hold one still picture (or a pipe of them): a photo is not a clip.
_STILL_IMAGE_FORMATS = ("image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe")


@dataclass(frozen=True)
class VideoLimits:
    """Largest clip the analyzer accepts."""

    max_duration_s: float = opt(600.0, "longest clip accepted, seconds")
    max_pixels: int = opt(3840 * 2160, "largest frame accepted, width x height in pixels")
    max_file_mb: float = opt(2048.0, "largest file accepted, megabytes")


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip; width/height are of the upright frame."""

    path: str
    container: str
    codec: str
    width: int
    height: int
    rotation_deg: int
    nominal_fps: float
    duration_s: float
    frame_count: int
    file_bytes: int


@dataclass
class DecodeStats:
    """Filled while decoding: frames decoded, frames lost to damage, frames thinned by a rate cap."""

    decoded: int = 0
    lost: int = 0
    timestamp_fixes: int = 0
    thinned: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: DecodeStats) -> None:
        self.decoded += other.decoded
        self.lost += other.lost
        self.timestamp_fixes += other.timestamp_fixes
        self.thinned += other.thinned
        self.errors.extend(other.errors)


@dataclass(frozen=True)
class ClipSegment:
    """Part of a clip in seconds from its first frame; ``origin_s`` is that frame's absolute time."""

    origin_s: float
    start_s: float
    stop_s: float


@dataclass(frozen=True)
class Frame:
    """One upright frame: ``image`` (H, W, 3) uint8 RGB, C-contiguous; ``t`` seconds."""

    index: int
    t: float
    image: np.ndarray


def _av() -> Any:
    import av

    # No Python log callback (None, PyAV's default): decode damage is counted and reported, not printed.
    # Any other level routes FFmpeg's logs through Python, and a frame-decoding thread that logs while
    # the decoder is closed deadlocks on the GIL (PyAV issues #751, #909).
    av.logging.set_level(None)
    return av


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputNotFoundError(f"{path}: is a folder, not a video file")
    if not os.access(path, os.R_OK):
        raise InputNotFoundError(f"{path}: cannot be read (permission denied)")


def _rotation_of(frame: Any) -> int:
    """Counter-clockwise display rotation of a decoded frame in degrees, a multiple of 90."""
    angle = float(getattr(frame, "rotation", 0) or 0)
    return int(round(angle / 90.0)) * 90 % 360


def _open(path: Path) -> Any:
    av = _av()
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise NotAVideoError(f"{path.name}: not a video file FFmpeg can read ({reason})") from exc


def probe(path: Path | str, limits: VideoLimits | None = None) -> VideoInfo:
    """Read the container header and check the clip against ``limits``.

    Raises InputNotFoundError, NotAVideoError, EmptyVideoError or LimitExceededError with a one-line
    message. Decoding damage is found later, while decoding.
    """
    path = Path(path)
    limits = limits or VideoLimits()
    _check_readable(path)
    file_bytes = path.stat().st_size
    if file_bytes == 0:
        raise NotAVideoError(f"{path.name}: the file is empty (0 bytes)")
    if file_bytes > limits.max_file_mb * 1e6:
        raise LimitExceededError(
            f"{path.name}: {file_bytes / 1e6:.0f} MB is over the {limits.max_file_mb:.0f} MB limit; "
            "trim the clip or raise --max-file-mb"
        )
    with _open(path) as container:
        fmt = container.format.name
        if not container.streams.video:
            kind = "audio only" if container.streams.audio else "no video stream"
            raise NotAVideoError(f"{path.name}: {kind}; need a video of the lift")
        stream = container.streams.video[0]
        if fmt.split(",")[0] in _STILL_IMAGE_FORMATS:
            raise NotAVideoError(f"{path.name}: a still image ({fmt}); need a video of the lift")
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        if width <= 0 or height <= 0:
            raise VideoDecodeError(f"{path.name}: the video stream has no picture size; the file looks damaged")
        rotation = _first_frame_rotation(container, stream, path)
        if rotation in (90, 270):
            width, height = height, width
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        frames = int(stream.frames or 0)
        if frames == 0 and duration > 0 and fps > 0:
            frames = int(round(duration * fps))
        codec = stream.codec_context.name
    if duration > limits.max_duration_s:
        raise LimitExceededError(
            f"{path.name}: {duration:.0f} s is longer than the {limits.max_duration_s:.0f} s limit; "
            "trim the clip or raise --max-duration-s"
        )
    if width * height > limits.max_pixels:
        raise LimitExceededError(
            f"{path.name}: {width}x{height} is larger than the {limits.max_pixels / 1e6:.1f} MP limit; "
            "downscale the clip or raise --max-pixels"
        )
    return VideoInfo(
        path=str(path), container=fmt, codec=codec, width=width, height=height, rotation_deg=rotation,
        nominal_fps=fps, duration_s=duration, frame_count=frames, file_bytes=file_bytes,
    )


def _first_frame_rotation(container: Any, stream: Any, path: Path) -> int:
    """Rotation from the first decodable frame; EmptyVideoError when no frame exists at all."""
    av = _av()
    try:
        for frame in container.decode(stream):
            return _rotation_of(frame)
    except av.error.FFmpegError:
        return 0  # damage at the start: iter_frames counts what is lost
    raise EmptyVideoError(f"{path.name}: the video has zero frames")


def upright(image: np.ndarray, rotation_deg: int) -> np.ndarray:
    """Apply a counter-clockwise display rotation; returns a C-contiguous array."""
    k = (rotation_deg // 90) % 4
    return np.ascontiguousarray(np.rot90(image, k=k) if k else image)


class _Clock:
    """Turns presentation timestamps into seconds from the first frame, strictly increasing."""

    def __init__(self, step: float, stats: DecodeStats) -> None:
        self.step, self.stats = step, stats
        self.t0: float | None = None
        self.last = -math.inf

    def time_of(self, frame: Any) -> float:
        if frame.pts is not None and frame.time_base is not None:
            absolute = float(frame.pts * frame.time_base)
        elif frame.time is not None:
            absolute = float(frame.time)
        else:
            absolute = (self.t0 or 0.0) + (self.last + self.step if self.last > -math.inf else 0.0)
        if self.t0 is None:
            self.t0 = absolute
        t = absolute - self.t0
        if t <= self.last:  # duplicate or backward timestamp: keep order, nudge, count it
            t = self.last + 1e-3
            self.stats.timestamp_fixes += 1
        self.last = t
        return t


def iter_frames(
    path: Path | str, stats: DecodeStats | None = None, *, max_side: int | None = None,
    min_interval_s: float = 0.0, segment: ClipSegment | None = None, luma: bool = False,
    only: Collection[int] | None = None,
) -> Iterator[Frame]:
    """Decode upright RGB frames in presentation order.

    Damaged packets are skipped and counted in ``stats.lost``; a clip where nothing decodes raises
    VideoDecodeError and one with no frames EmptyVideoError. ``max_side`` scales frames down (never up)
    so their longer side is at most that many pixels. Times start at 0 at the first frame and are made
    strictly increasing (equal or backward timestamps are nudged and counted).

    ``min_interval_s`` thins high-frame-rate clips: a frame closer than that to the last one yielded is
    decoded but not converted or yielded (``stats.thinned`` counts them). ``segment`` decodes only part
    of the clip, seeking to it; frame indices then count from the segment's first decoded frame.

    ``luma`` yields the brightness plane instead (H x W uint8, full size, ``max_side`` ignored): read straight
    from the decoder's Y plane, it costs almost nothing beyond decoding. ``only`` yields just the frames with
    those indices (the others are decoded but not converted).
    """
    av = _av()
    path = Path(path)
    stats = stats if stats is not None else DecodeStats()
    _check_readable(path)
    with _open(path) as container:
        if not container.streams.video:
            raise NotAVideoError(f"{path.name}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        clock = _Clock(1.0 / float(rate) if rate else 1.0 / 30.0, stats)
        header_frames = int(stream.frames or 0)
        data_packets = discarded = 0
        index = 0
        last_yielded = -math.inf
        # a frame this much closer than min_interval_s is still kept, so 59.9 fps is not halved by a 60 cap
        keep_after = min_interval_s * 0.9
        if segment is not None:
            clock.t0 = segment.origin_s
            if segment.start_s > 0 and stream.time_base:
                container.seek(int((segment.origin_s + segment.start_s) / stream.time_base), stream=stream,
                               backward=True)
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.FFmpegError as exc:  # truncated container: stop at the damage
                stats.errors.append(str(exc))
                break
            data_packets += 1 if packet.size else 0
            discarded += 1 if packet.size and packet.is_discard else 0
            try:
                decoded = packet.decode()
            except av.error.FFmpegError as exc:
                stats.lost += 1
                stats.errors.append(str(exc))
                continue
            for frame in decoded:
                t = clock.time_of(frame)
                if segment is not None and t < segment.start_s - 1e-6:
                    continue
                if segment is not None and t >= segment.stop_s - 1e-6:
                    return
                if t - last_yielded < keep_after:
                    stats.thinned += 1
                elif only is None or index in only:
                    last_yielded = t
                    image = _luma(frame) if luma else _rgb(frame, max_side)
                    yield Frame(index=index, t=t, image=upright(image, _rotation_of(frame)))
                index += 1
                stats.decoded = index
        if segment is not None:
            return  # header frame counts describe the whole clip, not a segment
        # Frames the index promises but the file no longer holds (truncation). Decoded frames are not
        # compared with the header: edit lists legitimately drop pre-roll frames.
        missing = max(0, header_frames - data_packets)
        if missing or stats.lost or stats.errors:
            # Damaged: also count packets that gave no frame without raising (a truncated last packet;
            # frames the decoder drops until it recovers at the next keyframe).
            stats.lost = missing + max(stats.lost, data_packets - discarded - index)
    if index == 0:
        if stats.lost or stats.errors:
            raise VideoDecodeError(f"{path.name}: no frame could be decoded; the file is truncated or corrupt")
        raise EmptyVideoError(f"{path.name}: the video has zero frames")


def prefetch(frames: Iterable[Frame], depth: int = 4) -> Iterator[Frame]:
    """Decode ahead in a thread while the caller works on the previous frames.

    PyAV releases the GIL while it decodes and converts, so decoding overlaps the model or the encoder.
    Errors raised while decoding are re-raised in the caller at the frame where they happened; closing
    the generator early stops the thread.
    """
    import queue
    import threading

    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(frames)
        try:
            for frame in source:
                if not offer(("frame", frame)):
                    return
            offer(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # the decoder's container is closed in this thread, where it was used

    worker = threading.Thread(target=produce, name="hinge-decode", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = slots.get()
            if kind == "frame":
                yield item
            elif kind == "error":
                raise item
            else:
                return
    finally:
        stop.set()
        worker.join(timeout=5)


def frame_times(path: Path | str) -> tuple[float, np.ndarray]:
    """The clip's time origin and every frame's time from it, read from packets without decoding.

    Returns (absolute time of the first decoded frame, sorted frame times in seconds from it), the same
    clock ``iter_frames`` uses, so frames decoded segment by segment can be numbered as one clip.
    """
    path = Path(path)
    _check_readable(path)
    av = _av()
    with _open(path) as container:
        stream = container.streams.video[0]
        origin = None
        try:
            for frame in container.decode(stream):
                origin = float(frame.pts * frame.time_base) if frame.pts is not None else None
                break
        except av.error.FFmpegError:
            origin = None
        if origin is None or stream.time_base is None:
            raise VideoDecodeError(f"{path.name}: frames carry no timestamps; cannot split the clip")
        time_base = float(stream.time_base)  # read while open: a closed container's stream may say None
        container.seek(0, stream=stream, backward=True)
        pts = [packet.pts for packet in container.demux(stream)
               if packet.size and packet.pts is not None and not packet.is_discard]
    times = np.sort(np.asarray(pts, np.float64) * time_base) - origin
    return origin, times[times > -1e-6]


def sample_frames(path: Path | str, count: int, *, max_side: int | None = None) -> list[Frame]:
    """Up to ``count`` frames spread over the clip, cheaply: each seek lands on a keyframe, decoded alone.

    Frames come back in time order without duplicates (a clip with few keyframes gives fewer frames);
    ``Frame.index`` is the sample's position, ``t`` its absolute presentation time. A damaged stretch is
    skipped: this is a survey, not the analysis.
    """
    path = Path(path)
    _check_readable(path)
    av = _av()
    found: dict[float, Frame] = {}
    with _open(path) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / 1e6 if container.duration else 0.0)
        start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        for k in range(max(count, 1)):
            target = start + duration * k / max(count, 1)
            try:
                if stream.time_base:
                    container.seek(int(target / stream.time_base), stream=stream, backward=True)
                frame = next(container.decode(stream), None)
            except av.error.FFmpegError:
                continue
            if frame is None:
                continue
            t = float(frame.pts * frame.time_base) if frame.pts is not None else target
            if t not in found:
                found[t] = Frame(index=0, t=t, image=upright(_rgb(frame, max_side), _rotation_of(frame)))
        if len(found) < max(count, 1) // 2:  # keyframes too sparse: one decoding pass, converting only samples
            found.clear()
            step = duration / max(count, 1)
            next_t = -math.inf
            container.seek(0, stream=stream, backward=True)
            with contextlib.suppress(av.error.FFmpegError):
                for frame in container.decode(stream):
                    t = float(frame.pts * frame.time_base) if frame.pts is not None else next_t + step
                    if t >= next_t:
                        found[t] = Frame(index=0, t=t, image=upright(_rgb(frame, max_side), _rotation_of(frame)))
                        next_t = t + step
    return [Frame(index=i, t=f.t, image=f.image) for i, (_, f) in enumerate(sorted(found.items()))]


# 8-bit formats whose first plane is the luma (Y) plane at full size
_LUMA_FIRST = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12", "nv21"})


def _luma(frame: Any) -> np.ndarray:
    """H x W uint8 brightness: the Y plane as decoded when the format has one, else a conversion to gray."""
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
        return rows[:, :plane.width].copy()
    return frame.to_ndarray(format="gray")


def _rgb(frame: Any, max_side: int | None) -> np.ndarray:
    if max_side and max(frame.width, frame.height) > max_side:
        scale = (max_side // 2 * 2) / max(frame.width, frame.height)  # even, so rounding stays <= max_side
        return frame.to_ndarray(format="rgb24", width=_even(frame.width * scale),
                                height=_even(frame.height * scale))
    return frame.to_ndarray(format="rgb24")


def _even(value: float) -> int:
    return max(2, int(round(value / 2.0)) * 2)


def even_size(width: int, height: int, max_short_side: int | None = None) -> tuple[int, int]:
    """Size scaled (never up) so the shorter side is at most ``max_short_side``, both even."""
    scale = 1.0
    if max_short_side and min(width, height) > max_short_side:
        scale = max_short_side / min(width, height)
    return _even(width * scale), _even(height * scale)


class VideoWriter:
    """H.264 / yuv420p / +faststart MP4 writer that every browser plays.

    Frames are RGB uint8 (H, W, 3) of the size given; odd sizes are padded to even by the caller
    (use ``even_size``). Times in seconds set each frame's presentation timestamp, so variable frame
    rate input keeps its timing. The file is written to ``path`` only when ``close`` succeeds: it is
    built beside it under a temporary name and renamed, so a crash never leaves a half-written MP4.
    """

    def __init__(self, path: Path | str, width: int, height: int, fps: float = 30.0, *, crf: int = 23,
                 preset: str = "veryfast") -> None:
        if width % 2 or height % 2:
            raise ValueError(f"H.264 yuv420p needs even dimensions, got {width}x{height}")
        av = _av()
        self.path = Path(path)
        self._tmp = self.path.with_name(f".{self.path.name}.part")
        self.width, self.height = width, height
        self._container = av.open(str(self._tmp), mode="w", format="mp4",
                                  options={"movflags": "+faststart"})
        rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(30)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.time_base = Fraction(1, 90000)
        self._stream.codec_context.time_base = Fraction(1, 90000)
        self._stream.options = {"crf": str(crf), "preset": preset}
        self._last_pts = -1
        self._count = 0
        self._default_step = 1.0 / float(rate)
        self._av = av

    def write(self, image: np.ndarray, t: float | None = None) -> None:
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"frame is {image.shape[1]}x{image.shape[0]}, writer is {self.width}x{self.height}")
        seconds = self._count * self._default_step if t is None else t
        pts = max(int(round(seconds * 90000)), self._last_pts + 1)
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = pts
        frame.time_base = Fraction(1, 90000)
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self._last_pts = pts
        self._count += 1

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._container.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
