"""The service against a real PostgreSQL server: a throwaway cluster (unix socket only) per test session.

The same flows as tests/test_api.py and tests/test_service_jobs.py run on SQLite there; here they run through
HINGE_DATABASE_URL=postgresql+psycopg://..., with real worker processes and the fast fake analyzer.
Skipped only when the PostgreSQL server binaries (Debian's ``postgresql`` package) are not installed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import pwd
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from api import accounts
from api.app import create_app
from api.db import Analysis, CoachLink, Review, User, get_engine, get_sessionmaker
from api.jobs import JobService
from api.settings import Settings
from api.testing import FLAG_WORST_T, FLAGGED_REP, fake_analyze
from tests.clipfactory import solid_clip
from tests.test_api import World, make_users, started_world
from tests.test_service_jobs import add_job, claimed, job

PORT = 5432  # names the socket file in our private socket dir; no TCP listener is opened
SUPERUSER = "hinge"
_database_numbers = itertools.count()


def _server_binary(name: str) -> str | None:
    """``name`` from Debian's versioned bin dir (newest version first), else from PATH."""
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0, reverse=True)
    for folder in versions:
        if (folder / name).is_file():
            return str(folder / name)
    return shutil.which(name)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} ... failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh cluster under tmp_path_factory with database 'hinge'; its SQLAlchemy URL. Stopped at the end."""
    initdb, pg_ctl = _server_binary("initdb"), _server_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    import psycopg

    root = tmp_path_factory.mktemp("postgres")
    data, sockets = root / "data", root / "sock"
    data.mkdir()
    sockets.mkdir()
    as_owner: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        owner = pwd.getpwnam("postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
        for folder in (root, data, sockets):
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        # pytest's temp dirs are 0700: let the server's user pass through (search only, no listing)
        for folder in (root.parent, root.parent.parent):
            folder.chmod(folder.stat().st_mode | 0o001)
    _run([*as_owner, initdb, "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--no-sync", "-E", "UTF8"])
    _run([*as_owner, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w", "start",
          "-o", f"-k {sockets} -c listen_addresses='' -p {PORT} -c fsync=off"])
    try:
        with psycopg.connect(host=str(sockets), port=PORT, user=SUPERUSER, dbname="postgres",
                             autocommit=True) as admin:
            admin.execute("CREATE DATABASE hinge")
        yield f"postgresql+psycopg://{SUPERUSER}@/hinge?host={sockets}&port={PORT}"
    finally:
        _run([*as_owner, pg_ctl, "-D", str(data), "-m", "immediate", "stop"])


def fresh_database(postgres_url: str) -> str:
    """A new empty database on the session's cluster (tests that count queue rows need their own); its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    name = f"hinge_{next(_database_numbers)}"
    with psycopg.connect(host=url.query["host"], port=int(url.query["port"]), user=url.username,
                         dbname=url.database, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(hide_password=False)


def postgres_settings(postgres_url: str, root: Path, **overrides: object) -> Settings:
    settings = Settings(data_dir=root / "data", database_url=fresh_database(postgres_url), workers=1, **overrides)
    settings.make_dirs()
    return settings


@pytest.fixture(scope="module")
def world(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """ann and ben (athletes), cora (coach linked to ann), dave (unlinked coach); one finished clip each."""
    root = tmp_path_factory.mktemp("service_pg")
    with started_world(postgres_settings(postgres_url, root), root, wait=False) as w:
        yield w


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Settings:
    settings = postgres_settings(postgres_url, tmp_path, max_attempts=3)
    make_users(settings)
    return settings


# --- the database really is PostgreSQL, reached over the socket only -------------------------------------


def test_the_service_talks_to_postgresql_through_psycopg(world: World) -> None:
    engine = get_engine(world.settings.db_url)
    assert (engine.dialect.name, engine.dialect.driver) == ("postgresql", "psycopg")
    with engine.connect() as connection:
        version = connection.exec_driver_sql("SHOW server_version_num").scalar_one()
        listen = connection.exec_driver_sql("SHOW listen_addresses").scalar_one()
        tables = set(connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'").scalars())
    assert int(version) >= 120000
    assert listen == ""
    assert tables == {"users", "coach_athlete", "analyses", "reviews"}


def test_accounts_and_the_coach_link_are_stored(world: World) -> None:
    with get_sessionmaker(world.settings.db_url)() as session:
        users = {u.name: (u.id, u.role) for u in session.scalars(select(User))}
        links = [(link.coach_id, link.athlete_id) for link in session.scalars(select(CoachLink))]
    assert users == {name: (world.user_ids[name], "coach" if name in ("cora", "dave") else "athlete")
                     for name in ("ann", "ben", "cora", "dave")}
    assert links == [(world.user_ids["cora"], world.user_ids["ann"])]
    me = world.client.get("/me", headers=world.auth("cora")).json()
    assert (me["name"], me["role"], [a["name"] for a in me["athletes"]]) == ("cora", "coach", ["ann"])


# --- upload, the worker process, list and get ----------------------------------------------------------


def test_uploaded_clips_run_to_done_in_a_worker_process(world: World) -> None:
    for name, analysis_id in world.done.items():
        done = world.wait(name, analysis_id)
        assert (done["status"], done["progress"], done["error"]) == ("done", 100.0, None)
        assert (done["rep_count"], done["flagged_rep_count"]) == (3, 1)
        assert done["options"] == {"exercise": "deadlift", "height_m": None}
        assert done["athlete"] == {"id": world.user_ids[name], "name": name}
        assert done["video_url"] == f"/analyses/{analysis_id}/video"
    with get_sessionmaker(world.settings.db_url)() as session:
        rows = list(session.scalars(select(Analysis).order_by(Analysis.created_at)))
    assert [(r.id, r.status, r.attempts, r.exercise) for r in rows] == [
        (world.done["ann"], "done", 1, "deadlift"), (world.done["ben"], "done", 1, "deadlift")]
    for row in rows:  # timestamptz comes back as aware UTC, in order
        assert row.created_at.tzinfo is not None and row.created_at.utcoffset() == dt.timedelta(0)
        assert row.started_at is not None and row.finished_at is not None
        assert row.created_at <= row.started_at <= row.finished_at
        assert [f["rep_index"] for f in row.flags or []] == [FLAGGED_REP]


@pytest.mark.parametrize(("who", "sees"), [("ann", ["ann"]), ("ben", ["ben"]), ("cora", ["ann"]), ("dave", [])])
def test_list_and_get_show_only_what_the_caller_may_see(world: World, who: str, sees: list[str]) -> None:
    for name, analysis_id in world.done.items():
        world.wait(name, analysis_id)
    listed = world.client.get("/analyses", headers=world.auth(who)).json()["analyses"]
    assert sorted(a["athlete"]["name"] for a in listed) == sees
    assert {a["id"] for a in listed} == {world.done[name] for name in sees}
    for name, analysis_id in world.done.items():
        response = world.client.get(f"/analyses/{analysis_id}", headers=world.auth(who))
        assert response.status_code == (200 if name in sees else 404)
        if name in sees:
            assert (response.json()["id"], response.json()["status"]) == (analysis_id, "done")


def test_a_coach_review_round_trips(world: World) -> None:
    analysis_id = world.done["ann"]
    assert world.wait("ann", analysis_id)["status"] == "done"
    queue = world.client.get("/review/queue", headers=world.auth("cora")).json()["items"]
    assert [(i["analysis_id"], i["rep_index"], i["fault"]["code"], i["fault"]["worst_t"], i["review"])
            for i in queue] == [(analysis_id, FLAGGED_REP, "rounded_back", FLAG_WORST_T, None)]

    url = f"/analyses/{analysis_id}/reps/{FLAGGED_REP}/faults/rounded_back/review"
    first = world.client.put(url, headers=world.auth("cora"), json={"decision": "confirmed", "comment": "Brace!"})
    assert first.status_code == 200, first.text
    second = world.client.put(url, headers=world.auth("cora"), json={"decision": "dismissed", "comment": "ok ✓"})
    assert second.status_code == 200, second.text
    assert second.json()["updated_at"] >= first.json()["updated_at"]

    reviews = world.client.get(f"/analyses/{analysis_id}", headers=world.auth("ann")).json()["reviews"]
    assert [(r["rep_index"], r["code"], r["decision"], r["comment"], r["coach"]["name"]) for r in reviews] == [
        (FLAGGED_REP, "rounded_back", "dismissed", "ok ✓", "cora")]
    assert world.client.get("/review/queue", headers=world.auth("cora")).json()["items"] == []
    everything = world.client.get("/review/queue?status=all", headers=world.auth("cora")).json()["items"]
    assert [(i["analysis_id"], i["review"]["decision"]) for i in everything] == [(analysis_id, "dismissed")]
    with get_sessionmaker(world.settings.db_url)() as session:
        assert session.scalar(select(func.count()).select_from(Review)) == 1  # the second PUT overwrote the first


# --- the job queue on PostgreSQL: claiming races and restarts ------------------------------------------


@pytest.mark.parametrize(("jobs", "dispatchers"), [(12, 4), (30, 6)])
def test_each_queued_job_is_claimed_exactly_once_by_competing_dispatchers(settings: Settings, jobs: int,
                                                                          dispatchers: int) -> None:
    ids = {add_job(settings) for _ in range(jobs)}
    taken: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(dispatchers)

    def drain() -> None:
        service = JobService(settings)
        start.wait(timeout=30)
        while (got := service.claim_next()) is not None:
            with lock:
                taken.append(got[0])

    threads = [threading.Thread(target=drain) for _ in range(dispatchers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(taken) == jobs and sorted(taken) == sorted(ids)
    assert {job(settings, i).attempts for i in ids} == {1}
    assert {job(settings, i).status for i in ids} == {"running"}


@pytest.mark.parametrize(("attempts", "status"), [(1, "queued"), (2, "queued"), (3, "failed")])
def test_restart_requeues_running_jobs_until_max_attempts(settings: Settings, attempts: int, status: str) -> None:
    job_id = add_job(settings, status="running", attempts=attempts, progress=50.0, stage="pose")
    done_id = add_job(settings, status="done", attempts=1)
    assert JobService(settings).requeue_interrupted() == (1 if status == "queued" else 0)
    row = job(settings, job_id)
    assert (row.status, row.attempts) == (status, attempts)
    if status == "queued":
        assert (row.progress, row.stage) == (0.0, "queued again after a server restart")
        assert claimed(settings, job_id) == attempts + 1
    else:
        assert "interrupted 3 times" in (row.error or "") and row.finished_at is not None
    assert job(settings, done_id).status == "done"


def test_a_job_left_running_by_a_dead_server_finishes_after_the_restart(settings: Settings, tmp_path: Path) -> None:
    """A finished job is put back to 'running' (as a killed server leaves it); the next start re-runs it."""
    with get_sessionmaker(settings.db_url)() as session:
        token = accounts.add_user(session, "uploader", "athlete").token
    clip = solid_clip(tmp_path / "lift.mp4").path
    with TestClient(create_app(settings, runner=fake_analyze)) as client:
        uploader = World(client, settings, {"uploader": token}, {}, clip, {})
        response = uploader.upload("uploader")
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert uploader.wait("uploader", job_id)["status"] == "done"
    with get_sessionmaker(settings.db_url)() as session:
        session.execute(update(Analysis).where(Analysis.id == job_id)
                        .values(status="running", progress=40.0, stage="pose", finished_at=None))
        session.commit()
    with TestClient(create_app(settings, runner=fake_analyze)) as client:
        done = World(client, settings, {"uploader": token}, {}, clip, {}).wait("uploader", job_id)
    assert (done["status"], done["progress"], done["rep_count"], done["flagged_rep_count"]) == ("done", 100.0, 3, 1)
    row = job(settings, job_id)
    assert (row.status, row.attempts, row.stage) == ("done", 2, "done")
