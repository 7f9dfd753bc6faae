"""The job queue's pieces, in-process: claiming, the worker's outcomes, restarts and progress throttling."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import accounts
from api.db import Analysis, get_sessionmaker, utcnow
from api.jobs import (
    GENERIC_FAILURE,
    PROGRESS_STEP_PCT,
    WORKER_LOST,
    JobService,
    ProgressWriter,
    run_job,
    summarize,
)
from api.settings import Settings
from api.testing import (
    NO_PERSON_MESSAGE,
    fake_analyze,
    fake_analyze_crash,
    fake_analyze_exit,
    fake_analyze_no_person,
    fake_analyze_slow,
    fake_report,
)
from tests.clipfactory import solid_clip


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", max_attempts=3)
    settings.make_dirs()
    with get_sessionmaker(settings.db_url)() as session:
        accounts.add_user(session, "ann", "athlete")
    return settings


def add_job(settings: Settings, status: str = "queued", attempts: int = 0, **values: Any) -> str:
    with get_sessionmaker(settings.db_url)() as session:
        athlete = session.scalar(select(accounts.User).where(accounts.User.name == "ann"))
        assert athlete is not None
        row = Analysis(athlete_id=athlete.id, uploaded_by=athlete.id, filename="lift.mp4",
                       clip_path=str(settings.uploads_dir / "none.mp4"), output_dir="", options={"exercise": "auto"},
                       status=status, attempts=attempts, created_at=utcnow(), **values)
        session.add(row)
        session.flush()
        row.output_dir = str(settings.outputs_dir / row.id)
        session.commit()
        return row.id


def job(settings: Settings, job_id: str) -> Analysis:
    with get_sessionmaker(settings.db_url)() as session:
        row = session.get(Analysis, job_id)
        assert row is not None
        return row


def claimed(settings: Settings, job_id: str) -> int:
    """Claim ``job_id`` (the only queued row) and return its attempt number."""
    got = JobService(settings).claim_next()
    assert got is not None and got[0] == job_id
    return got[1]


# --- outcomes of one job in a worker ------------------------------------------------------------------


def test_done_job_gets_its_summary_and_outputs(settings: Settings) -> None:
    job_id = add_job(settings)
    attempt = claimed(settings, job_id)
    assert attempt == 1 and job(settings, job_id).status == "running"
    assert run_job(job_id, settings.db_url, fake_analyze, attempt) == "done"
    row = job(settings, job_id)
    assert (row.status, row.progress, row.stage, row.error) == ("done", 100.0, "done", None)
    assert row.finished_at is not None and row.started_at is not None and row.finished_at >= row.started_at
    assert (row.exercise, row.rep_count, row.flagged_rep_count) == ("deadlift", 3, 1)
    assert [f["rep_index"] for f in row.flags or []] == [2]
    assert sorted(p.name for p in Path(row.output_dir).iterdir()) == ["annotated.mp4", "report.json"]


@pytest.mark.parametrize(("runner", "message"), [
    (fake_analyze_no_person, NO_PERSON_MESSAGE),  # an AnalyzerError keeps its own one-line message
    (fake_analyze_crash, GENERIC_FAILURE),  # anything else: a generic message, the traceback only in the log
])
def test_failed_job_keeps_a_one_line_error(settings: Settings, runner: Any, message: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    job_id = add_job(settings)
    attempt = claimed(settings, job_id)
    with caplog.at_level(logging.ERROR, logger="hinge.jobs"):
        assert run_job(job_id, settings.db_url, runner, attempt) == "failed"
    row = job(settings, job_id)
    assert (row.status, row.error, row.stage) == ("failed", message, "failed")
    assert "secret" not in (row.error or "") and "\n" not in (row.error or "")
    if runner is fake_analyze_crash:
        assert "secret internal detail" in caplog.text  # the server log has it, the user does not
    assert not Path(row.output_dir).exists() or not any(Path(row.output_dir).iterdir())


def test_a_stale_attempt_cannot_overwrite_a_newer_one(settings: Settings) -> None:
    job_id = add_job(settings, status="running", attempts=2, progress=30.0, stage="pose")
    assert run_job(job_id, settings.db_url, fake_analyze, 1) == "stale"
    writer = ProgressWriter(settings.db_url, job_id, 1)
    assert writer.write(status="done") is False
    row = job(settings, job_id)
    assert (row.status, row.progress, row.stage) == ("running", 30.0, "pose")


def test_leftover_staging_folders_of_an_interrupted_attempt_are_removed(settings: Settings) -> None:
    job_id = add_job(settings)
    outdir = Path(job(settings, job_id).output_dir)
    (outdir / ".hinge-staging-dead").mkdir(parents=True)
    (outdir / ".hinge-staging-dead" / "annotated.mp4").write_bytes(b"half")
    assert run_job(job_id, settings.db_url, fake_analyze, claimed(settings, job_id)) == "done"
    assert sorted(p.name for p in outdir.iterdir()) == ["annotated.mp4", "report.json"]


# --- claiming and restarts ----------------------------------------------------------------------------


def test_each_queued_job_is_claimed_exactly_once_by_competing_dispatchers(settings: Settings) -> None:
    ids = {add_job(settings) for _ in range(12)}
    taken: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        service = JobService(settings)
        while (got := service.claim_next()) is not None:
            with lock:
                taken.append(got[0])

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(taken) == sorted(ids)
    assert {job(settings, i).attempts for i in ids} == {1}


def test_claim_takes_the_oldest_first(settings: Settings) -> None:
    first, second = add_job(settings), add_job(settings)
    service = JobService(settings)
    assert [service.claim_next(), service.claim_next(), service.claim_next()] == [(first, 1), (second, 1), None]


@pytest.mark.parametrize(("attempts", "status"), [(1, "queued"), (2, "queued"), (3, "failed")])
def test_restart_requeues_running_jobs_until_max_attempts(settings: Settings, attempts: int, status: str) -> None:
    job_id = add_job(settings, status="running", attempts=attempts, progress=50.0, stage="pose")
    done_id = add_job(settings, status="done", attempts=1)
    JobService(settings).requeue_interrupted()
    row = job(settings, job_id)
    assert (row.status, row.attempts) == (status, attempts)
    if status == "queued":
        assert row.progress == 0.0
        assert claimed(settings, job_id) == attempts + 1
    else:
        assert "interrupted 3 times" in (row.error or "")
    assert job(settings, done_id).status == "done"


# --- progress -----------------------------------------------------------------------------------------


def test_progress_writes_are_throttled(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """1000 quick callbacks over one stage write about 100 / PROGRESS_STEP_PCT times; a stage change always writes."""
    writer = ProgressWriter(settings.db_url, "x" * 32, 1)
    writes: list[dict[str, Any]] = []
    monkeypatch.setattr(writer, "write", lambda **values: writes.append(values) or True)
    monkeypatch.setattr("api.jobs.time.monotonic", lambda: 0.0)  # no time passes: only the 2 % step counts
    for i in range(1000):
        writer("pose", i / 1000 / 2)
    pose_writes = len(writes)
    assert 50 / PROGRESS_STEP_PCT - 1 <= pose_writes <= 50 / PROGRESS_STEP_PCT + 1
    writer("video", 0.5)
    assert writes[-1] == {"progress": 50.0, "stage": "video"}
    percents = [w["progress"] for w in writes]
    assert percents == sorted(percents)


def test_progress_reaches_the_row(settings: Settings) -> None:
    job_id = add_job(settings)
    writer = ProgressWriter(settings.db_url, job_id, claimed(settings, job_id))
    writer("pose", 0.25)
    row = job(settings, job_id)
    assert (row.progress, row.stage) == (25.0, "pose")


# --- what is copied from the report -------------------------------------------------------------------


def test_summary_fields_come_from_the_report() -> None:
    report = json.loads(json.dumps(fake_report({"exercise": "auto"}).to_dict()))
    values = summarize(report)
    block = report["summary"]
    assert values["metrics"] == {
        "depth_mean_deg": block["trunk_incline_max_deg_mean"], "depth_cv": block["trunk_incline_max_deg_cv"],
        "tempo_cv": pytest.approx((block["descent_s_cv"] + block["ascent_s_cv"]) / 2), "velocity_loss": None}
    assert values["exercise"] == "deadlift" and values["rep_count"] == 3 and values["flagged_rep_count"] == 1
    assert values["flags"] == [{"rep_index": 2, "fault": report["reps"][1]["faults"][0],
                                "cue": "Brace before you pull: keep your back flat"}]


# --- worker processes: a clean stop re-queues, a dying worker is replaced ----------------------------


def _client_upload(client: Any, token: str, clip: Path) -> str:
    response = client.post("/analyses", headers={"Authorization": f"Bearer {token}"},
                           files={"file": ("lift.mp4", clip.read_bytes(), "video/mp4")})
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def _wait_row(settings: Settings, job_id: str, done: Any, timeout_s: float = 60.0) -> Analysis:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        row = job(settings, job_id)
        if done(row):
            return row
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} stuck at {job(settings, job_id).status}")


def _token(settings: Settings) -> str:
    with get_sessionmaker(settings.db_url)() as session:
        return accounts.add_user(session, "uploader", "athlete").token


def test_clean_shutdown_requeues_a_running_job_and_the_next_start_finishes_it(settings: Settings,
                                                                              tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    token, clip = _token(settings), solid_clip(tmp_path / "lift.mp4").path
    with TestClient(create_app(settings, runner=fake_analyze_slow)) as client:
        job_id = _client_upload(client, token, clip)
        _wait_row(settings, job_id, lambda r: r.status == "running" and r.stage == "pose")
    row = job(settings, job_id)
    assert (row.status, row.attempts) == ("queued", 0)  # a clean stop does not count as an attempt
    with TestClient(create_app(settings, runner=fake_analyze_slow)):
        row = _wait_row(settings, job_id, lambda r: r.status == "done")
    assert row.attempts == 1 and row.rep_count == 3


def test_a_dying_worker_is_replaced_and_the_job_fails_after_max_attempts(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=tmp_path / "data", max_attempts=2)
    token, clip = _token(settings), solid_clip(tmp_path / "lift.mp4").path
    with TestClient(create_app(settings, runner=fake_analyze_exit)) as client:
        job_id = _client_upload(client, token, clip)
        row = _wait_row(settings, job_id, lambda r: r.status == "failed")
        assert (row.attempts, row.error) == (2, WORKER_LOST)
        detail = client.get(f"/analyses/{job_id}", headers={"Authorization": f"Bearer {token}"}).json()
        assert (detail["status"], detail["error"]) == ("failed", WORKER_LOST)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_schema_uses_portable_types(dialect: str) -> None:
    """Every table compiles for SQLite and PostgreSQL (HINGE_DATABASE_URL may point at either)."""
    from importlib import import_module

    from sqlalchemy.schema import CreateTable

    from api.db import Base

    compiled = import_module(f"sqlalchemy.dialects.{dialect}").dialect()
    ddl = {name: str(CreateTable(table).compile(dialect=compiled)) for name, table in Base.metadata.tables.items()}
    assert set(ddl) == {"users", "coach_athlete", "analyses", "reviews"}
    assert "UNIQUE (analysis_id, rep_index, code)" in ddl["reviews"]
    if dialect == "postgresql":
        assert "TIMESTAMP WITH TIME ZONE" in ddl["analyses"] and "JSON" in ddl["analyses"]
