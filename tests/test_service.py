"""The service end to end with the real pipeline: TestClient on a sample clip, and real ``hinge serve``
processes on loopback for the restart and load tests (all slow).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from api import accounts
from api.db import Analysis, get_sessionmaker
from api.media import thumbnail_size
from api.settings import Settings
from tests.conftest import REPO, SAMPLE_VIDEOS

pytestmark = pytest.mark.slow

ROUNDED = SAMPLE_VIDEOS / "deadlift_rounded_side.mp4"
ROUNDED_REP = 2  # the sample's ground truth: spine_flexion 30 deg injected in rep 2 of 3
EXPECTED_OUTPUTS = ["annotated.mp4", "plate.npz", "pose.npz", "report.html", "report.json", "reps.csv"]


def make_accounts(settings: Settings) -> dict[str, str]:
    with get_sessionmaker(settings.db_url)() as session:
        tokens = {name: accounts.add_user(session, name, role).token
                  for name, role in (("ann", "athlete"), ("cora", "coach"))}
        accounts.link(session, "cora", "ann")
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def rows(settings: Settings) -> list[Analysis]:
    with get_sessionmaker(settings.db_url)() as session:
        return list(session.query(Analysis).all())


# --- the real pipeline through the app ----------------------------------------------------------------


def test_real_pipeline_flags_the_rounded_rep_for_the_coach(tmp_path: Path) -> None:
    import av
    import cv2
    from fastapi.testclient import TestClient

    from api.app import create_app

    settings = Settings(data_dir=tmp_path / "data", workers=1)
    tokens = make_accounts(settings)
    with TestClient(create_app(settings)) as client:
        response = client.post("/analyses", headers=bearer(tokens["ann"]),
                               files={"file": (ROUNDED.name, ROUNDED.read_bytes(), "video/mp4")})
        assert response.status_code == 202, response.text
        analysis_id = response.json()["id"]
        seen: set[str] = set()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            body = client.get(f"/analyses/{analysis_id}", headers=bearer(tokens["ann"])).json()
            seen.add(body["status"])
            if body["status"] in ("done", "failed"):
                break
            time.sleep(0.5)
        assert body["status"] == "done", body["error"]
        assert "running" in seen
        report = body["report"]
        assert body["rep_count"] == len(report["reps"]) == 3
        flagged = {r["index"]: [f["code"] for f in r["faults"]] for r in report["reps"] if r["faults"]}
        assert "rounded_back" in flagged.get(ROUNDED_REP, [])
        assert body["flagged_rep_count"] == len(flagged)

        queue = client.get("/review/queue", headers=bearer(tokens["cora"])).json()["items"]
        assert (analysis_id, ROUNDED_REP, "rounded_back") in {
            (i["analysis_id"], i["rep_index"], i["fault"]["code"]) for i in queue}

        video = client.get(body["video_url"], headers=bearer(tokens["ann"]))
        assert video.status_code == 200
        (tmp_path / "annotated.mp4").write_bytes(video.content)
        with av.open(str(tmp_path / "annotated.mp4")) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.name == "h264"
            width, height = stream.codec_context.width, stream.codec_context.height

        thumb = client.get(f"/analyses/{analysis_id}/reps/{ROUNDED_REP}/thumbnail", headers=bearer(tokens["cora"]))
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        image = cv2.imdecode(np.frombuffer(thumb.content, np.uint8), cv2.IMREAD_COLOR)
        assert (image.shape[1], image.shape[0]) == thumbnail_size(width, height)
        assert image.std() > 10  # a picture, not a blank frame


# --- real server processes ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``hinge serve`` as a subprocess in its own process group (so its worker processes die with it)."""

    def __init__(self, data_dir: Path, workers: int, log: Path) -> None:
        self.log_path = log
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
               "HINGE_WORKERS": str(workers), "HINGE_DATA_DIR": str(data_dir)}
        for _ in range(3):  # another process on this machine may take the free port before the server binds it
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = log.open("ab")
            self.process = subprocess.Popen(
                [sys.executable, "-m", "analyzer.cli", "serve", "--port", str(self.port)],
                cwd=data_dir.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
            if self._answers():
                return
            self.kill()
            if "address already in use" not in self.log_tail():
                break
        raise AssertionError(f"hinge serve did not start:\n{self.log_tail()}")

    def _answers(self, timeout_s: float = 120.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return True
            time.sleep(0.3)
        return False

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(line for line in text if "HTTP/1.1" not in line)[-4000:] if text else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the server and its worker processes, no clean-up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.log.close()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        self.kill()


@contextlib.contextmanager
def serving(data_dir: Path, workers: int, log: Path) -> Iterator[Server]:
    server = Server(data_dir, workers, log)
    try:
        yield server
    finally:
        server.stop()


def upload(url: str, token: str, clip: Path) -> httpx.Response:
    with clip.open("rb") as handle:
        return httpx.post(f"{url}/analyses", headers=bearer(token), timeout=120,
                          files={"file": (clip.name, handle, "video/mp4")})


def wait_for(url: str, token: str, analysis_id: str, statuses: set[str], timeout_s: float,
             condition: Any = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/analyses/{analysis_id}", headers=bearer(token), timeout=30).json()
        if body["status"] in statuses and (condition is None or condition(body)):
            return dict(body)
        if body["status"] == "failed" and "failed" not in statuses:
            raise AssertionError(f"analysis failed: {body['error']}")
        time.sleep(0.2)
    raise AssertionError(f"analysis {analysis_id} not {statuses} within {timeout_s} s")


def test_restart_while_running_finishes_the_same_job(tmp_path: Path) -> None:
    """kill -9 of the server and its worker mid-analysis; the restarted server re-queues and finishes it."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    tokens = make_accounts(settings)
    log = tmp_path / "serve.log"
    server = Server(data_dir, workers=1, log=log)
    try:
        response = upload(server.url, tokens["ann"], ROUNDED)
        assert response.status_code == 202, response.text
        analysis_id = response.json()["id"]
        running = wait_for(server.url, tokens["ann"], analysis_id, {"running"}, 300,
                           condition=lambda b: b["stage"] == "pose" and b["progress"] > 0)
        assert running["progress"] < 100
    finally:
        server.kill()
    (row,) = rows(settings)
    assert (row.id, row.status, row.attempts) == (analysis_id, "running", 1)  # the table still says running

    with serving(data_dir, workers=1, log=log) as again:
        done = wait_for(again.url, tokens["ann"], analysis_id, {"done"}, 600)
        listed = httpx.get(f"{again.url}/analyses", headers=bearer(tokens["ann"]), timeout=30).json()["analyses"]
    assert [a["id"] for a in listed] == [analysis_id]
    assert done["rep_count"] == 3 and len(done["report"]["reps"]) == 3
    (row,) = rows(settings)
    assert (row.status, row.attempts) == ("done", 2)
    outputs = sorted(p.name for p in (settings.outputs_dir / analysis_id).iterdir())
    assert outputs == EXPECTED_OUTPUTS  # no staging leftovers, nothing twice
    assert [p.name for p in settings.outputs_dir.iterdir()] == [analysis_id]
    assert [p.relative_to(settings.uploads_dir).as_posix() for p in settings.uploads_dir.rglob("*") if p.is_file()] \
        == [f"{analysis_id}/clip.mp4"]
    assert "re-queued 1 analysis job(s)" in log.read_text()


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 320x180, 24 fps, one-rep deadlift (about 4 s, ~20 kB): short enough for 16 at once."""
    from analyzer import synth

    clip = tmp_path_factory.mktemp("load") / "small_deadlift.mp4"
    synth.render_clip(clip, script=synth.script_for("deadlift", reps=1, faults=[]),
                      camera=synth.Camera(azimuth_deg=synth.VIEWS["side"]), body=synth.SEGMENTED_BODY,
                      size=(320, 180), fps=24.0, seed=0, crf=23, noise_sd=0.0)
    return clip


LOAD_UPLOADS = 16
LOAD_WORKERS = 2


def test_load_16_concurrent_uploads_all_finish(tmp_path: Path, small_clip: Path,
                                              record_property: pytest.RecordProperty) -> None:
    """16 simultaneous uploads of ``small_clip`` (generated: synth deadlift, 1 rep, 320x180, 24 fps) to a
    real ``hinge serve`` with HINGE_WORKERS=2 on 127.0.0.1: all done with reports, ids unique, none lost or
    duplicated. Timings are printed and recorded as test properties (and in tmp_path/load_timings.json)."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    tokens = make_accounts(settings)
    latencies: list[float] = []
    ids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(LOAD_UPLOADS)

    with serving(data_dir, workers=LOAD_WORKERS, log=tmp_path / "serve.log") as server:
        def one() -> None:
            barrier.wait()
            started = time.perf_counter()
            try:
                response = upload(server.url, tokens["ann"], small_clip)
            except httpx.HTTPError as exc:
                with lock:
                    errors.append(repr(exc))
                return
            with lock:
                latencies.append(time.perf_counter() - started)
                if response.status_code == 202:
                    ids.append(response.json()["id"])
                else:
                    errors.append(f"{response.status_code} {response.text}")

        wall_start = time.perf_counter()
        threads = [threading.Thread(target=one) for _ in range(LOAD_UPLOADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, f"{errors}\n{server.log_tail()}"
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            listed = httpx.get(f"{server.url}/analyses", headers=bearer(tokens["ann"]), timeout=30).json()["analyses"]
            if all(a["status"] in ("done", "failed") for a in listed):
                break
            time.sleep(1.0)
        wall_s = time.perf_counter() - wall_start

    assert len(ids) == len(set(ids)) == LOAD_UPLOADS
    assert sorted(a["id"] for a in listed) == sorted(ids)
    assert [a["status"] for a in listed] == ["done"] * LOAD_UPLOADS, [a["error"] for a in listed if a["error"]]
    table = rows(settings)
    assert sorted(r.id for r in table) == sorted(ids) and {r.attempts for r in table} == {1}
    for analysis_id in ids:
        report = json.loads((settings.outputs_dir / analysis_id / "report.json").read_text())
        assert report["summary"]["rep_count"] == 1
        assert sorted(p.name for p in (settings.outputs_dir / analysis_id).iterdir()) == EXPECTED_OUTPUTS
    job_s = [(r.finished_at - r.started_at).total_seconds() for r in table if r.finished_at and r.started_at]
    wait_s = [(r.started_at - r.created_at).total_seconds() for r in table if r.started_at]
    timings = {
        "uploads": LOAD_UPLOADS, "workers": LOAD_WORKERS, "clip": small_clip.name,
        "clip_bytes": small_clip.stat().st_size,
        "upload_latency_p50_s": statistics.median(latencies), "upload_latency_max_s": max(latencies),
        "total_wall_s": wall_s, "job_s_median": statistics.median(job_s), "job_s_max": max(job_s),
        "queue_wait_s_max": max(wait_s), "throughput_clips_per_min": 60 * LOAD_UPLOADS / wall_s,
    }
    (tmp_path / "load_timings.json").write_text(json.dumps(timings, indent=1))
    for key, value in timings.items():
        record_property(key, value)
    print("\nload test:", json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in timings.items()}))


def test_an_upload_cut_off_midway_leaves_nothing(tmp_path: Path) -> None:
    """The client sends half the declared body and hangs up: no temp file, no clip, no row."""
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir)
    tokens = make_accounts(settings)
    clip = ROUNDED.read_bytes()
    boundary = "cutoff"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lift.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    body = head + clip + f"\r\n--{boundary}--\r\n".encode()
    with serving(data_dir, workers=1, log=tmp_path / "serve.log") as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall((f"POST /analyses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['ann']}\r\n"
                          f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2])
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(settings.incoming_dir.iterdir()):
                time.sleep(0.05)
            assert any(settings.incoming_dir.iterdir())  # the upload was being streamed to disk
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(settings.incoming_dir.iterdir()):
            time.sleep(0.1)
        listed = httpx.get(f"{server.url}/analyses", headers=bearer(tokens["ann"]), timeout=30).json()["analyses"]
    assert list(settings.incoming_dir.iterdir()) == []
    assert list(settings.uploads_dir.iterdir()) == [] and listed == [] and rows(settings) == []
