"""Shared fixtures: where the third-party footage lives (tests using it skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("HINGE_FOOTAGE", REPO.parent / "shared" / "footage"))
SAMPLE_VIDEOS = REPO / "sample_videos"


@pytest.fixture(scope="session")
def footage_dir() -> Path:
    if not (FOOTAGE / "labels.csv").is_file():
        pytest.skip(f"no labelled footage at {FOOTAGE} (third-party clips are not shipped)")
    return FOOTAGE
