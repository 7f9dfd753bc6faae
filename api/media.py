"""Rep thumbnails: one frame of the annotated video at a time, as JPEG, cached on disk.

PyAV seeks to the keyframe before the time and decodes forward to the first frame at or after it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

THUMB_MAX_SIDE = 320  # pixels: the longer side of a thumbnail
JPEG_QUALITY = 85


def worst_moment_s(rep: dict[str, Any]) -> float:
    """The rep's worst moment: worst_t of its most severe flagged fault, else its bottom (seconds)."""
    faults = [f for f in rep.get("faults", []) if f.get("worst_t") is not None]
    if faults:
        worst = max(faults, key=lambda f: (f.get("severity") or 0.0, f.get("confidence") or 0.0))
        return float(worst["worst_t"])
    return float(rep["bottom_s"])


def thumbnail_size(width: int, height: int, max_side: int = THUMB_MAX_SIDE) -> tuple[int, int]:
    """(width, height) scaled so the longer side is at most ``max_side``; never upscaled."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def frame_at(video: Path, t: float) -> Any:
    """RGB uint8 (H, W, 3) of the frame on screen at ``t`` seconds: the last one presented at or before ``t``
    (the first frame for earlier times, the last frame for times past the end)."""
    import av

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        start = stream.start_time or 0
        # half a tick of slack: worst_t is a frame time already, rounded to float
        target = start + (int(round(max(t, 0.0) / time_base)) if time_base else 0)
        container.seek(target, stream=stream, backward=True, any_frame=False)
        shown = None
        for frame in container.decode(stream):
            if frame.pts is not None and frame.pts > target and shown is not None:
                break
            shown = frame
        if shown is None:
            raise ValueError(f"{video.name}: no frame could be decoded")
        return shown.to_ndarray(format="rgb24")


def thumbnail(video: Path, t: float, cache: Path) -> Path:
    """JPEG of the frame at ``t`` in ``video``, written once to ``cache`` (atomically) and reused."""
    if cache.is_file():
        return cache
    import cv2

    image = frame_at(video, t)
    height, width = image.shape[:2]
    size = thumbnail_size(width, height)
    if size != (width, height):
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".thumb-", suffix=".jpg", dir=cache.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(encoded.tobytes())
        os.replace(name, cache)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return cache
