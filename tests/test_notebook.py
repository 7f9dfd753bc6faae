"""The researcher notebook runs top to bottom (nbclient) on two short clips, so it never rots."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient

from tests.conftest import SAMPLE_VIDEOS
from tests.test_batch import shorten

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "batch_research.ipynb"

pytestmark = pytest.mark.slow


def test_batch_research_notebook_executes(tmp_path, monkeypatch):
    clips = tmp_path / "clips"
    clips.mkdir()
    shorten(SAMPLE_VIDEOS / "deadlift_side.mp4", clips / "deadlift_short.mp4", 4.6)
    shorten(SAMPLE_VIDEOS / "rdl_45deg.mp4", clips / "rdl_short.mp4", 4.2)
    monkeypatch.setenv("HINGE_NOTEBOOK_CLIPS", str(clips))
    monkeypatch.setenv("HINGE_NOTEBOOK_OUT", str(tmp_path / "out"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    summary = pd.read_csv(tmp_path / "out" / "subject_summary.csv").set_index("subject")
    assert list(summary.index) == ["demo1", "demo2"]
    assert summary["reps"].sum() == len(pd.read_parquet(tmp_path / "out" / "batch" / "reps.parquet")) >= 2
    assert (tmp_path / "out" / "trunk_curves.png").stat().st_size > 10_000
