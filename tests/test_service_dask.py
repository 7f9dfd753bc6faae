"""HINGE_DASK_SCHEDULER: jobs go to a Dask scheduler instead of local processes (a LocalCluster on 127.0.0.1)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import accounts
from api.db import get_sessionmaker
from api.settings import Settings
from api.testing import fake_analyze
from tests.clipfactory import solid_clip

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    # threads, not processes: the fake runner then runs inside this test process, on Dask's worker thread
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield str(cluster.scheduler_address)


def test_jobs_run_on_the_dask_scheduler(tmp_path: Path, scheduler: str) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    assert scheduler.startswith("tcp://127.0.0.1:")
    settings = Settings(data_dir=tmp_path / "data", dask_scheduler=scheduler, workers=2)
    with get_sessionmaker(settings.db_url)() as session:
        token = accounts.add_user(session, "ann", "athlete").token
    clip = solid_clip(tmp_path / "lift.mp4").path
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, runner=fake_analyze)) as client:
        ids = [client.post("/analyses", headers=headers, files={"file": ("lift.mp4", clip.read_bytes(), "video/mp4")}
                           ).json()["id"] for _ in range(3)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listed = client.get("/analyses", headers=headers).json()["analyses"]
            if all(a["status"] in ("done", "failed") for a in listed):
                break
            time.sleep(0.2)
        assert sorted(a["id"] for a in listed) == sorted(ids)
        assert [a["status"] for a in listed] == ["done"] * 3
        assert all(a["rep_count"] == 3 for a in listed)
        with distributed.Client(scheduler) as observer:
            assert observer.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.transition_log)) > 0
        for analysis_id in ids:
            assert (settings.outputs_dir / analysis_id / "report.json").is_file()


def test_a_bad_scheduler_address_is_refused_at_settings_time(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tcp://HOST:PORT"):
        Settings(data_dir=tmp_path, dask_scheduler="127.0.0.1:8786")
