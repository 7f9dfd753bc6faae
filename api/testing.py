"""Fast stand-ins for the analyzer, for the service's tests (module-level so worker processes can load them).

``fake_analyze`` writes what ``analyzer.pipeline.analyze`` writes, in its real shapes: report.json from a
real ``Report`` (3 reps, rep 2 flagged ``rounded_back``) and a small real H.264 annotated.mp4 (a moving
square, FAKE_SIZE at FAKE_FPS for FAKE_DURATION_S), in about a tenth of a second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import NoPersonError
from analyzer.types import Fault, FaultCode, Rep, Report

FAKE_SIZE = (160, 96)  # width, height of the fake annotated video, pixels
FAKE_FPS = 10.0
FAKE_DURATION_S = 3.0
FLAGGED_REP = 2
FLAG_WORST_T = 1.45  # seconds: where the fake rounded back is worst
NO_PERSON_MESSAGE = "clip: nobody was found in any frame"


def fake_report(options: dict[str, Any]) -> Report:
    """Three one-second reps; rep FLAGGED_REP carries a rounded_back fault worst at FLAG_WORST_T."""
    reps = []
    for i in range(3):
        start = float(i)
        faults: tuple[Fault, ...] = ()
        cues: tuple[str, ...] = ()
        if i + 1 == FLAGGED_REP:
            faults = (Fault(FaultCode.ROUNDED_BACK, severity=0.7, confidence=0.9, worst_t=FLAG_WORST_T,
                            measured=0.02, threshold=-0.035, unit="sagitta/chord"),)
            cues = ("Brace before you pull: keep your back flat",)
        reps.append(Rep(index=i + 1, start_s=start, bottom_s=start + 0.4, lockout_s=start + 0.8, end_s=start + 1.0,
                        metrics={"trunk_incline_max_deg": 60.0 + i, "descent_s": 0.4, "ascent_s": 0.4,
                                 "lockout_hold_s": 0.2, "rep_s": 1.0},
                        faults=faults, cues=cues))
    return Report(
        clip={"file": "clip.mp4", "width": FAKE_SIZE[0], "height": FAKE_SIZE[1], "duration_s": FAKE_DURATION_S},
        exercise={"requested": options.get("exercise", "auto"), "rules": "deadlift@fake", "recognized": "deadlift"},
        reps=tuple(reps),
        summary={"rep_count": 3, "reps_flagged": 1, "faults_seen": ["rounded_back"],
                 "trunk_incline_max_deg_mean": 61.0, "trunk_incline_max_deg_cv": 0.0134,
                 "descent_s_cv": 0.1, "ascent_s_cv": 0.2, "velocity_loss": float("nan")},
        warnings=(), provenance={"package": "hinge-analyzer", "fake": True, "height_m": options.get("height_m")},
    )


def write_fake_video(path: Path) -> None:
    from analyzer.video import VideoWriter

    width, height = FAKE_SIZE
    with VideoWriter(path, width, height, FAKE_FPS, preset="ultrafast") as writer:
        for i in range(int(FAKE_DURATION_S * FAKE_FPS)):
            image = np.full((height, width, 3), 40, np.uint8)
            x = (i * 4) % (width - 16)
            image[40:56, x:x + 16] = 255
            writer.write(image, i / FAKE_FPS)


def fake_analyze(clip: Path, outdir: Path, options: dict[str, Any], on_progress: Any) -> None:
    """Write report.json and annotated.mp4 like the pipeline, reporting progress in two stages."""
    import json

    from analyzer.outputs import StagedOutput

    with StagedOutput(outdir) as staged:
        for step in range(5):
            on_progress("pose", step / 10)
        write_fake_video(staged.path("annotated.mp4"))
        on_progress("video", 0.9)
        staged.path("report.json").write_text(json.dumps(fake_report(options).to_dict(), indent=1))
        staged.commit()
    on_progress("done", 1.0)


def fake_analyze_slow(clip: Path, outdir: Path, options: dict[str, Any], on_progress: Any) -> None:
    """fake_analyze after two seconds of 'pose' progress (to watch a job while it runs)."""
    for step in range(20):
        on_progress("pose", step / 40)
        time.sleep(0.1)
    fake_analyze(clip, outdir, options, on_progress)


def fake_analyze_no_person(clip: Path, outdir: Path, options: dict[str, Any], on_progress: Any) -> None:
    raise NoPersonError(NO_PERSON_MESSAGE)


def fake_analyze_crash(clip: Path, outdir: Path, options: dict[str, Any], on_progress: Any) -> None:
    raise RuntimeError("secret internal detail that must not reach the user")


def fake_analyze_exit(clip: Path, outdir: Path, options: dict[str, Any], on_progress: Any) -> None:
    """The worker process dies mid-job (as if killed by the OOM killer)."""
    import os

    on_progress("pose", 0.1)
    os._exit(3)
