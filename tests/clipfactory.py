"""Small synthetic clips for the video tests, written with PyAV (each well under a second).

Every factory writes into the path it is given (tests pass a path under ``tmp_path``) and returns the
path, or a ``Clip`` carrying the truth it wrote: stored size, frame count, presentation times.

Frame pattern: a white ``SQUARE`` x ``SQUARE`` square on a dark grey background whose left edge sits at
``square_x(i, width)`` in frame ``i`` (it steps right ``STEP`` pixels per frame and wraps), so frames are
distinguishable and their order can be checked from the pixels.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SQUARE = 8  # side of the moving square, pixels
STEP = 2  # pixels the square moves right per frame
BACKGROUND = 40  # grey level of the background
MARKER = 16  # side of the corner marker in rotation clips, pixels

# codec name -> (PyAV encoder, pixel format, encoder options)
ENCODERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "h264": ("libx264", "yuv420p", {"preset": "ultrafast"}),
    "h264_444": ("libx264", "yuv444p", {"preset": "ultrafast"}),
    "hevc": ("libx265", "yuv420p", {"preset": "ultrafast", "x265-params": "log-level=none"}),
    "vp9": ("libvpx-vp9", "yuv420p", {"deadline": "realtime", "cpu-used": "8"}),
    "mpeg4": ("mpeg4", "yuv420p", {"qscale": "3"}),
    "gif": ("gif", "rgb8", {}),
}


@dataclass(frozen=True)
class Clip:
    """What a factory wrote: ``width``/``height`` as stored (before any display rotation)."""

    path: Path
    width: int
    height: int
    n: int
    times: tuple[float, ...]  # presentation time of each frame in seconds, first frame at 0


def square_x(index: int, width: int) -> int:
    """Left edge (pixels) of the moving square in frame ``index`` of a clip ``width`` pixels wide."""
    span = max(1, width - SQUARE)
    return (index * STEP) % span


def pattern(index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of the moving-square pattern: (height, width, 3) uint8 RGB."""
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    x = square_x(index, width)
    y = (height - SQUARE) // 2
    image[y : y + SQUARE, x : x + SQUARE] = 255
    return image


def _write(path: Path, codec: str, images: list[np.ndarray], pts: list[int], time_base: Fraction,
           fps: int, *, rotation: int | None = None, fmt: str | None = None, gop: int | None = None) -> None:
    encoder, pix_fmt, options = ENCODERS[codec]
    options = {**options, "g": str(gop)} if gop else options
    height, width = images[0].shape[:2]
    with av.open(str(path), mode="w", format=fmt) as container:
        stream = container.add_stream(encoder, rate=fps, options=dict(options))
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for image, p in zip(images, pts, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = p, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def pattern_clip(path: Path, fps: Fraction, n: int = 90, size: tuple[int, int] = (64, 48), gop: int = 12) -> Path:
    """H.264 clip of the moving-square pattern at a constant rate ``fps`` with a keyframe every ``gop``."""
    _write(path, "h264", [pattern(i, *size) for i in range(n)], list(range(n)), 1 / fps, max(1, round(fps)),
           gop=gop)
    return path


def solid_clip(path: Path, codec: str = "h264", size: tuple[int, int] = (64, 48), n: int = 12,
               fps: int = 25, container: str | None = None) -> Clip:
    """Constant-frame-rate clip of the moving-square pattern; ``size`` is (width, height).

    ``codec`` is a key of ENCODERS; ``container`` forces a muxer (else the file suffix decides).
    """
    width, height = size
    images = [pattern(i, width, height) for i in range(n)]
    time_base = Fraction(1, 100) if codec == "gif" else Fraction(1, fps)
    step = 100 // fps if codec == "gif" else 1
    _write(path, codec, images, [i * step for i in range(n)], time_base, fps, fmt=container)
    return Clip(path, width, height, n, tuple(i * step * float(time_base) for i in range(n)))


def rotated_portrait_clip(path: Path, rotation: int = -90, size: tuple[int, int] = (64, 48),
                          n: int = 4) -> Clip:
    """H.264 MP4 of landscape-stored frames with display ``rotation`` (counter-clockwise degrees).

    Every stored frame has a white MARKER x MARKER square in its top-left corner, on dark grey.
    -90 is a phone portrait clip: shown upright, the marker is in the top-right corner.
    """
    width, height = size
    image = np.full((height, width, 3), BACKGROUND, dtype=np.uint8)
    image[:MARKER, :MARKER] = 255
    _write(path, "h264", [image] * n, list(range(n)), Fraction(1, 25), 25, rotation=rotation)
    return Clip(path, width, height, n, tuple(i / 25 for i in range(n)))


def vfr_clip(path: Path, n: int = 20, gaps_ms: tuple[int, ...] = (20, 50), start_ms: int = 0,
             codec: str = "h264") -> Clip:
    """Variable-frame-rate MP4: time base 1/1000, gaps between frames cycle through ``gaps_ms``.

    ``times`` holds the exact presentation times written, relative to the first frame.
    """
    pts = [start_ms]
    for i in range(n - 1):
        pts.append(pts[-1] + gaps_ms[i % len(gaps_ms)])
    images = [pattern(i, 64, 48) for i in range(n)]
    _write(path, codec, images, pts, Fraction(1, 1000), 30)
    return Clip(path, 64, 48, n, tuple((p - start_ms) / 1000 for p in pts))


def odd_width_clip(path: Path, size: tuple[int, int] = (166, 360), n: int = 3, codec: str = "mpeg4") -> Clip:
    """Clip with an odd width: ``codec`` 'mpeg4' (yuv420p, .mp4/.avi) or 'h264_444' (yuv444p, .mp4)."""
    return solid_clip(path, codec=codec, size=size, n=n)


# --- bad inputs --------------------------------------------------------------------------------------


def text_file(path: Path) -> Path:
    """A text file (give it a video suffix such as .mp4)."""
    path.write_text("this is not a video, just some words\n" * 20)
    return path


def empty_file(path: Path) -> Path:
    """A zero-byte file."""
    path.write_bytes(b"")
    return path


def png_image(path: Path, size: tuple[int, int] = (32, 24)) -> Path:
    """A valid RGB PNG still of the moving-square pattern, written by hand (zlib + CRC chunks)."""
    width, height = size
    rows = pattern(0, width, height)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw))
                     + chunk(b"IEND", b""))
    return path


def audio_only_clip(path: Path, seconds: float = 0.5, rate: int = 44100) -> Path:
    """An AAC audio-only file (.m4a): a 440 Hz tone."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        samples = int(seconds * rate)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(samples) / rate)).astype(np.float32)
        chunk = stream.codec_context.frame_size or 1024
        for start in range(0, samples, chunk):
            block = tone[start : start + chunk]
            frame = av.AudioFrame.from_ndarray(block[None, :], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def zero_frame_clip(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """An MP4 whose H.264 video stream exists in the header but holds no packets.

    A plain MP4 cannot hold an empty track (FFmpeg's muxer leaves tracks without samples out of moov),
    so the file is written fragmented (empty_moov), which keeps the track. An empty Matroska file does
    not open at all (FFmpeg reports end of file), so it would test NotAVideoError, not zero frames.
    """
    options = {"movflags": "+empty_moov+frag_keyframe"}
    with av.open(str(path), mode="w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        container.start_encoding()  # the header is otherwise written lazily, at the first packet
    return path


def mdat_span(path: Path) -> tuple[int, int]:
    """Byte offsets (start, end) of the payload of the top-level 'mdat' atom of an MP4."""
    for kind, start, end in top_level_atoms(path):
        if kind == "mdat":
            return start, end
    raise ValueError(f"{path.name}: no mdat atom")


def top_level_atoms(path: Path) -> list[tuple[str, int, int]]:
    """Top-level MP4 atoms as (type, payload start, end) byte offsets, in file order."""
    data = path.read_bytes()
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        header = 8
        if size == 1:  # 64-bit size follows the type
            size, header = struct.unpack(">Q", data[offset + 8 : offset + 16])[0], 16
        elif size == 0:  # atom runs to the end of the file
            size = len(data) - offset
        atoms.append((kind.decode("latin-1"), offset + header, min(offset + size, len(data))))
        offset += max(size, header)
    return atoms


def truncated_clip(path: Path, n: int = 60, keep: float = 0.5) -> Clip:
    """A good +faststart H.264 MP4 of ``n`` frames cut to ``keep`` of its bytes.

    With faststart the moov atom (the index) is at the front, so the cut removes the later frames' data
    from mdat while the header still promises all ``n``.
    """
    clip = _faststart_h264(path, n)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return clip


def corrupt_middle_clip(path: Path, n: int = 60, span: float = 0.2, seed: int = 7) -> Clip:
    """A good +faststart H.264 MP4 of ``n`` frames with the middle ``span`` of mdat overwritten by noise."""
    clip = _faststart_h264(path, n)
    start, end = mdat_span(path)
    length = int((end - start) * span)
    at = start + (end - start - length) // 2
    data = bytearray(path.read_bytes())
    data[at : at + length] = np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return clip


def _faststart_h264(path: Path, n: int, size: tuple[int, int] = (64, 48)) -> Clip:
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        # gop 10 so damage in one GOP leaves later GOPs decodable; noise keeps packets big enough to cut
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast", "g": "10"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(n):
            image = pattern(i, width, height)
            image[: height // 4] = rng.integers(0, 256, (height // 4, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return Clip(path, width, height, n, tuple(i / 25 for i in range(n)))
