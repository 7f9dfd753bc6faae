"""Draw the annotated video: skeleton, trunk angle, rep counter and a banner per finished rep.

Written at no more than 720 px on the shorter side (H.264, yuv420p, +faststart via VideoWriter).
OpenCV is imported lazily; drawing works on RGB frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.kinematics import Kinematics
from analyzer.options import opt
from analyzer.report import rep_summary
from analyzer.types import SKELETON_EDGES, Landmark, PoseSequence, Rep
from analyzer.video import Frame, VideoWriter

SKELETON_RGB = (80, 220, 255)
TRUNK_RGB = (255, 170, 40)
TEXT_RGB = (255, 255, 255)
PANEL_RGB = (20, 20, 20)
BANNER_SECONDS = 2.0


@dataclass(frozen=True)
class RenderOptions:
    max_short_side: int = opt(720, "annotated video size: shorter side at most this many pixels")
    crf: int = opt(23, "H.264 quality of the annotated video (lower is better, larger)")
    preset: str = opt("veryfast", "x264 speed preset of the annotated video")


def _rep_status(reps: tuple[Rep, ...], t: float) -> tuple[int, Rep | None]:
    """Reps completed by time t, and the rep whose banner shows at t (just locked out)."""
    done = [r for r in reps if r.lockout_s <= t]
    banner = next((r for r in reversed(done) if t - r.lockout_s <= BANNER_SECONDS), None)
    return len(done), banner


def banner_text(rep: Rep) -> str:
    text = f"Rep {rep.index}: {rep_summary(rep)}"
    return f"{text}\n{rep.cues[0]}" if rep.cues else text


def draw_frame(
    image: np.ndarray, xy: np.ndarray | None, trunk_deg: float, reps_done: int, reps_total: int,
    banner: str | None,
) -> np.ndarray:
    """Annotate one RGB frame (returns a new array). ``xy`` is (33, 2) in this frame's pixels."""
    import cv2

    out = image.copy()
    h, w = out.shape[:2]
    scale = max(h, w) / 1280.0
    thick = max(1, int(round(3 * scale)))
    font = cv2.FONT_HERSHEY_SIMPLEX
    if xy is not None and np.isfinite(xy).any():
        for a, b in SKELETON_EDGES:
            if np.isfinite(xy[[a, b]]).all():
                cv2.line(out, _pt(xy[a]), _pt(xy[b]), SKELETON_RGB, thick, cv2.LINE_AA)
        shoulder = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]) / 2
        hip = (xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]) / 2
        if np.isfinite([*shoulder, *hip]).all():
            cv2.line(out, _pt(hip), _pt(shoulder), TRUNK_RGB, thick + 2, cv2.LINE_AA)
            cv2.circle(out, _pt(hip), thick + 3, TRUNK_RGB, -1, cv2.LINE_AA)
            if np.isfinite(trunk_deg):
                label = f"{trunk_deg:.0f} deg"
                org = (int(hip[0]) + 10, int(hip[1]) - 10)
                cv2.putText(out, label, org, font, 0.8 * scale + 0.3, (0, 0, 0), thick + 3, cv2.LINE_AA)
                cv2.putText(out, label, org, font, 0.8 * scale + 0.3, TRUNK_RGB, thick, cv2.LINE_AA)
    lines = [f"Reps {reps_done}/{reps_total}", f"Trunk {trunk_deg:.0f} deg" if np.isfinite(trunk_deg) else "Trunk --"]
    size = 0.7 * scale + 0.3
    line_h = int(34 * scale + 12)
    cv2.rectangle(out, (0, 0), (int(260 * scale + 90), line_h * len(lines) + 12), PANEL_RGB, -1)
    for i, text in enumerate(lines):
        cv2.putText(out, text, (10, line_h * (i + 1)), font, size, TEXT_RGB, max(1, thick - 1), cv2.LINE_AA)
    if banner:
        weight = max(1, thick - 1)
        lines = banner.split("\n")
        sizes = [cv2.getTextSize(line, font, size, weight)[0] for line in lines]
        width = max(tw for tw, _ in sizes)
        y0 = h - line_h * len(lines) - 10
        cv2.rectangle(out, (0, y0), (min(w, width + 30), h), PANEL_RGB, -1)
        for i, line in enumerate(lines):
            cv2.putText(out, line, (15, y0 + line_h * (i + 1) - 4), font, size, TEXT_RGB, weight, cv2.LINE_AA)
    return out


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


# Frames further apart than this are not interpolated between: the lifter may have moved anywhere.
MAX_INTERPOLATION_GAP_S = 0.25
SAME_FRAME_S = 5e-4


def pose_at(t_rows: np.ndarray, xy: np.ndarray, trunk_deg: np.ndarray, t: float) -> tuple[np.ndarray | None, float]:
    """Landmarks (33, 2) and trunk angle at time ``t`` for drawing.

    A frame that was analysed gets its own row. A frame between two analysed rows (a slow-motion clip
    thinned for the model) gets them linearly interpolated, if they are at most
    MAX_INTERPOLATION_GAP_S apart and both found the lifter. Otherwise (None, NaN).
    """
    n = len(t_rows)
    i = int(np.searchsorted(t_rows, t - SAME_FRAME_S))
    if i < n and abs(t_rows[i] - t) <= SAME_FRAME_S:
        row = xy[i]
        return (row if np.isfinite(row).any() else None), float(trunk_deg[i])
    if i == 0 or i >= n or t_rows[i] - t_rows[i - 1] > MAX_INTERPOLATION_GAP_S:
        return None, float("nan")
    w = (t - t_rows[i - 1]) / (t_rows[i] - t_rows[i - 1])
    row = (1.0 - w) * xy[i - 1] + w * xy[i]
    angle = (1.0 - w) * trunk_deg[i - 1] + w * trunk_deg[i]
    return (row.astype(np.float32) if np.isfinite(row).any() else None), float(angle)


def render_video(
    frames: Iterable[Frame],
    output: Path,
    size: tuple[int, int],
    fps: float,
    seq: PoseSequence,
    kin: Kinematics,
    reps: tuple[Rep, ...],
    options: RenderOptions = RenderOptions(),
    on_frame: Callable[[Frame], Any] | None = None,
) -> None:
    """Draw and encode every frame. ``frames`` must already be at ``size`` (even width, height)."""
    width, height = size
    scale = np.array([width / seq.frame_size[0], height / seq.frame_size[1]], np.float32)
    with VideoWriter(output, width, height, fps, crf=options.crf, preset=options.preset) as writer:
        for frame in frames:
            xy, trunk = pose_at(seq.t, seq.xy, kin.trunk_inclination_deg, frame.t)
            xy = xy * scale if xy is not None else None
            done, banner = _rep_status(reps, frame.t)
            image = frame.image
            if image.shape[1] != width or image.shape[0] != height:
                import cv2

                image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
            writer.write(
                draw_frame(image, xy, trunk, done, len(reps), banner_text(banner) if banner else None),
                frame.t,
            )
            if on_frame is not None:
                on_frame(frame)
