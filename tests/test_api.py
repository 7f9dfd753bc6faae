"""The HTTP contract through TestClient, with the jobs run by real worker processes and a fast fake analyzer.

Accounts in every test: ann and ben (athletes), cora (coach linked to ann), dave (coach linked to nobody).
The fake (api.testing.fake_analyze) writes a real-shaped report.json (3 reps, rep 2 flagged rounded_back)
and a 160x96 H.264 annotated.mp4 of a moving square, so the whole flow runs in seconds.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api import accounts
from api.app import create_app
from api.db import Analysis, get_sessionmaker, new_id, utcnow
from api.settings import Settings
from api.testing import FAKE_FPS, FAKE_SIZE, FLAG_WORST_T, FLAGGED_REP, fake_analyze
from api.uploads import sanitize_filename
from tests.clipfactory import audio_only_clip, png_image, solid_clip, text_file, zero_frame_clip

CODE = re.compile(r"^[a-z][a-z0-9_]*$")
WAIT_S = 60.0


@dataclass
class World:
    client: TestClient
    settings: Settings
    tokens: dict[str, str]
    user_ids: dict[str, int]
    clip: Path
    done: dict[str, str]  # athlete name -> id of one finished analysis

    def auth(self, name: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"} if name else {}

    def upload(self, name: str, clip: Path | None = None, **fields: Any) -> Any:
        clip = clip or self.clip
        return self.client.post("/analyses", headers=self.auth(name),
                                files={"file": (clip.name, clip.read_bytes(), "video/mp4")},
                                data={k: str(v) for k, v in fields.items()})

    def wait(self, name: str, analysis_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            body = self.client.get(f"/analyses/{analysis_id}", headers=self.auth(name)).json()
            if body["status"] in ("done", "failed"):
                return dict(body)
            time.sleep(0.1)
        raise AssertionError(f"analysis {analysis_id} did not finish in {WAIT_S} s")


def make_users(settings: Settings) -> tuple[dict[str, str], dict[str, int]]:
    tokens, ids = {}, {}
    with get_sessionmaker(settings.db_url)() as session:
        for name, role in (("ann", "athlete"), ("ben", "athlete"), ("cora", "coach"), ("dave", "coach")):
            made = accounts.add_user(session, name, role)
            tokens[name], ids[name] = made.token, made.user_id
        accounts.link(session, "cora", "ann")
    return tokens, ids


@contextlib.contextmanager
def started_world(settings: Settings, root: Path, *, wait: bool) -> Iterator[World]:
    """ann and ben (athletes), cora (coach linked to ann), dave (unlinked coach); ann and ben upload one clip
    each through the app with the fake analyzer (waited for until done when ``wait``)."""
    tokens, ids = make_users(settings)
    clip = solid_clip(root / "lift.mp4", size=(64, 48), n=12).path
    with TestClient(create_app(settings, runner=fake_analyze)) as client:
        w = World(client, settings, tokens, ids, clip, {})
        for name in ("ann", "ben"):
            response = w.upload(name, exercise="deadlift")
            assert response.status_code == 202, response.text
            w.done[name] = response.json()["id"]
        if wait:
            for name, analysis_id in w.done.items():
                assert w.wait(name, analysis_id)["status"] == "done"
        yield w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("service")
    with started_world(Settings(data_dir=root / "data", workers=2), root, wait=True) as w:
        yield w


def stored(settings: Settings) -> tuple[set[Path], int]:
    """Every file under the uploads and incoming folders, and the number of analysis rows."""
    files = {p for folder in (settings.uploads_dir, settings.incoming_dir) for p in folder.rglob("*")}
    with get_sessionmaker(settings.db_url)() as session:
        rows = session.scalar(select(func.count()).select_from(Analysis))
    return files, int(rows or 0)


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert isinstance(body["detail"], str) and body["detail"] and "\n" not in body["detail"]
    assert "Traceback" not in body["detail"]
    assert CODE.match(body["code"])
    if code is not None:
        assert body["code"] == code


# --- bad input and abuse: each rejected, with a JSON error, and nothing stored -----------------------


def _file(name: str, data: bytes, content_type: str) -> dict[str, Any]:
    return {"files": {"file": (name, data, content_type)}}


def _bad_upload_cases(tmp: Path, clip: Path) -> dict[str, tuple[str | None, dict[str, Any], int, str]]:
    good = clip.read_bytes()
    return {
        # case: (who, request kwargs, status, code)
        "non-video bytes named .mp4": ("ann", _file("notes.mp4", text_file(tmp / "t.mp4").read_bytes(), "video/mp4"),
                                       422, "not_a_video"),
        "still image sent as octet-stream": ("ann", _file("photo.mp4", png_image(tmp / "p.png").read_bytes(),
                                                          "application/octet-stream"), 422, "not_a_video"),
        "audio only": ("ann", _file("song.m4a", audio_only_clip(tmp / "a.m4a").read_bytes(), "video/mp4"),
                       422, "not_a_video"),
        "video with zero frames": ("ann", _file("blank.mp4", zero_frame_clip(tmp / "z.mp4").read_bytes(),
                                                "video/mp4"), 422, "not_a_video"),
        "empty file": ("ann", _file("clip.mp4", b"", "video/mp4"), 422, "empty_file"),
        "text content type": ("ann", _file("clip.mp4", good, "text/plain"), 415, "unsupported_media_type"),
        "image content type": ("ann", _file("clip.png", good, "image/png"), 415, "unsupported_media_type"),
        "not multipart": ("ann", {"content": good, "headers": {"Content-Type": "video/mp4"}}, 415,
                          "unsupported_media_type"),
        "no file field": ("ann", {"data": {"exercise": "deadlift"}, "files": {"other": ("x.txt", b"x", "text/plain")}},
                          422, "invalid_request"),
        "clip in the wrong field": ("ann", {"files": {"video": ("clip.mp4", good, "video/mp4")}}, 422,
                                    "invalid_request"),
        "two clips": ("ann", {"files": [("file", ("a.mp4", good, "video/mp4")),
                                        ("file", ("b.mp4", good, "video/mp4"))]}, 422, "invalid_request"),
        "unknown exercise": ("ann", {**_file("clip.mp4", good, "video/mp4"), "data": {"exercise": "squat"}}, 422,
                             "invalid_option"),
        "height too tall": ("ann", {**_file("clip.mp4", good, "video/mp4"), "data": {"height_m": "3.5"}}, 422,
                            "invalid_option"),
        "height not a number": ("ann", {**_file("clip.mp4", good, "video/mp4"), "data": {"height_m": "tall"}}, 422,
                                "invalid_option"),
        "missing token": (None, _file("clip.mp4", good, "video/mp4"), 401, "unauthorized"),
        "athlete uploads for another athlete": ("ann", {**_file("clip.mp4", good, "video/mp4"),
                                                        "data": {"athlete_id": "BEN"}}, 403, "forbidden"),
        "coach without athlete_id": ("cora", _file("clip.mp4", good, "video/mp4"), 422, "invalid_option"),
        "coach for an unlinked athlete": ("cora", {**_file("clip.mp4", good, "video/mp4"),
                                                   "data": {"athlete_id": "BEN"}}, 403, "forbidden"),
        "unlinked coach for an athlete": ("dave", {**_file("clip.mp4", good, "video/mp4"),
                                                   "data": {"athlete_id": "ANN"}}, 403, "forbidden"),
    }


BAD_UPLOADS = [
    "non-video bytes named .mp4", "still image sent as octet-stream", "audio only", "video with zero frames",
    "empty file", "text content type", "image content type", "not multipart", "no file field",
    "clip in the wrong field", "two clips", "unknown exercise", "height too tall", "height not a number",
    "missing token", "athlete uploads for another athlete", "coach without athlete_id",
    "coach for an unlinked athlete", "unlinked coach for an athlete",
]


@pytest.mark.parametrize("case", BAD_UPLOADS)
def test_bad_upload_is_rejected_and_nothing_is_stored(world: World, tmp_path: Path, case: str) -> None:
    who, kwargs, status, code = _bad_upload_cases(tmp_path, world.clip)[case]
    data = kwargs.get("data")
    if data and data.get("athlete_id") in ("ANN", "BEN"):
        kwargs["data"] = {**data, "athlete_id": str(world.user_ids[data["athlete_id"].lower()])}
    before = stored(world.settings)
    response = world.client.post("/analyses", headers={**world.auth(who), **kwargs.pop("headers", {})}, **kwargs)
    assert_error(response, status, code)
    assert stored(world.settings) == before


def test_wrong_token_is_401_with_a_bearer_challenge(world: World) -> None:
    before = stored(world.settings)
    for headers in ({"Authorization": "Bearer not-a-real-token"}, {"Authorization": "Basic YW5uOnB3"},
                    {"Authorization": "Bearer "}):
        response = world.client.post("/analyses", headers=headers,
                                     files={"file": ("c.mp4", world.clip.read_bytes(), "video/mp4")})
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"
        assert_error(world.client.get("/analyses", headers=headers), 401, "unauthorized")
    assert stored(world.settings) == before


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_oversize_upload_is_413_and_leaves_nothing(tmp_path: Path, streamed: bool) -> None:
    """A 0.05 MB limit against a 200 kB body: refused from Content-Length, or while streaming when chunked."""
    settings = Settings(data_dir=tmp_path / "data", max_upload_mb=0.05)
    tokens, _ = make_users(settings)
    boundary = "hingeboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    payload = bytes(200_000)
    tail = f"\r\n--{boundary}--\r\n".encode()
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield head
        for start in range(0, len(payload), 8192):
            sent.append(start)
            yield payload[start:start + 8192]
        yield tail

    app = create_app(settings, runner=fake_analyze)
    with TestClient(app) as client:
        before = stored(settings)
        headers = {"Authorization": f"Bearer {tokens['ann']}",
                   "Content-Type": f"multipart/form-data; boundary={boundary}"}
        body: Any = chunks() if streamed else head + payload + tail
        response = client.post("/analyses", headers=headers, content=body)
        assert_error(response, 413, "too_large")
        assert stored(settings) == before
        assert "0.05 MB" in response.json()["detail"]


@pytest.mark.parametrize(("given", "expected"), [
    ("../../etc/passwd", "passwd"),
    ("a/b\\c.mp4", "c.mp4"),
    ("..\\..\\windows\\system32\\evil.mov", "evil.mov"),
    ("/abs/path/clip.MP4", "clip.MP4"),
    ("..", "upload"),
    ("", "upload"),
    (".hidden.mp4", "hidden.mp4"),
    ("my lift (1).mp4", "my lift (1).mp4"),
    ("tab\there\nnewline.mp4", "tabherenewline.mp4"),
    ("<script>alert(1)</script>.mp4", "script_.mp4"),  # the "/" in "</" cuts it first
    ("<b>lift</b>.mp4".replace("/", ""), "_b_lift_b_.mp4"),
    ("x" * 300 + ".mp4", "x" * 116 + ".mp4"),
])
def test_sanitize_filename(given: str, expected: str) -> None:
    assert sanitize_filename(given) == expected


@pytest.mark.parametrize("filename", ["../../etc/passwd", "a/b\\c.mp4", "..\\..\\x.mp4"])
def test_path_traversal_filename_is_shown_safely_and_never_used_as_a_path(world: World, filename: str) -> None:
    response = world.client.post("/analyses", headers=world.auth("ann"),
                                 files={"file": (filename, world.clip.read_bytes(), "video/mp4")})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["filename"] == sanitize_filename(filename)
    assert "/" not in body["filename"] and "\\" not in body["filename"] and not body["filename"].startswith(".")
    with get_sessionmaker(world.settings.db_url)() as session:
        row = session.get(Analysis, body["id"])
        assert row is not None
        clip_path = Path(row.clip_path)
    assert clip_path.parent == (world.settings.uploads_dir / body["id"]).resolve()
    assert clip_path.name == "clip.mp4"  # named from the container FFmpeg found, not the client's name
    root = world.settings.data_dir.parent
    assert not list(root.rglob("passwd")) and not list(root.rglob("c.mp4"))
    world.wait("ann", body["id"])


# --- the happy path and what it returns --------------------------------------------------------------


def test_upload_summary_and_finished_analysis(world: World) -> None:
    response = world.upload("ann", exercise="rdl", height_m=1.8)
    assert response.status_code == 202
    summary = response.json()
    assert re.fullmatch(r"[0-9a-f]{32}", summary["id"])
    assert summary["status"] in ("queued", "running")
    assert summary["options"] == {"exercise": "rdl", "height_m": 1.8}
    assert summary["athlete"] == {"id": world.user_ids["ann"], "name": "ann"}
    assert summary["created_at"].endswith("Z")
    done = world.wait("ann", summary["id"])
    assert done["status"] == "done" and done["progress"] == 100.0 and done["error"] is None
    assert done["report"]["exercise"]["requested"] == "rdl"
    assert done["report"]["provenance"]["height_m"] == 1.8
    assert done["rep_count"] == len(done["report"]["reps"]) == 3
    assert done["flagged_rep_count"] == 1
    summary_block = done["report"]["summary"]
    assert done["metrics"] == {
        "depth_mean_deg": summary_block["trunk_incline_max_deg_mean"],
        "depth_cv": summary_block["trunk_incline_max_deg_cv"],
        "tempo_cv": pytest.approx((summary_block["descent_s_cv"] + summary_block["ascent_s_cv"]) / 2),
        "velocity_loss": None,
    }
    assert done["video_url"] == f"/analyses/{summary['id']}/video"
    assert done["finished_at"] >= done["created_at"]


def test_blank_option_fields_mean_not_given(world: World) -> None:
    response = world.upload("ann", exercise="", height_m="", athlete_id="")
    assert response.status_code == 202, response.text
    assert response.json()["options"] == {"exercise": "auto", "height_m": None}
    world.wait("ann", response.json()["id"])


def test_list_is_newest_first_and_only_the_callers(world: World) -> None:
    listed = world.client.get("/analyses", headers=world.auth("ann")).json()["analyses"]
    created = [a["created_at"] for a in listed]
    assert created == sorted(created, reverse=True)
    assert {a["athlete"]["name"] for a in listed} == {"ann"}
    assert world.done["ann"] in {a["id"] for a in listed}


def test_coach_uploads_for_a_linked_athlete(world: World) -> None:
    response = world.upload("cora", athlete_id=world.user_ids["ann"])
    assert response.status_code == 202, response.text
    assert response.json()["athlete"]["name"] == "ann"
    assert world.wait("cora", response.json()["id"])["status"] == "done"
    assert response.json()["id"] in {a["id"] for a in world.client.get(
        "/analyses", headers=world.auth("ann")).json()["analyses"]}


def test_video_answers_range_requests(world: World) -> None:
    url = f"/analyses/{world.done['ann']}/video"
    full = world.client.get(url, headers=world.auth("ann"))
    assert full.status_code == 200
    assert full.headers["content-type"] == "video/mp4"
    assert full.headers["accept-ranges"] == "bytes"
    size = len(full.content)
    assert size > 100 and full.content[4:8] == b"ftyp"
    part = world.client.get(url, headers={**world.auth("ann"), "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert len(part.content) == 100 and part.content == full.content[:100]
    assert part.headers["content-range"] == f"bytes 0-99/{size}"
    tail = world.client.get(url, headers={**world.auth("ann"), "Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == full.content[-50:]
    beyond = world.client.get(url, headers={**world.auth("ann"), "Range": f"bytes={size}-"})
    assert_error(beyond, 416, "range_not_satisfiable")
    assert beyond.headers["content-range"] == f"bytes */{size}"


def test_thumbnail_is_the_frame_at_the_worst_moment(world: World) -> None:
    """The fake video's square moves 4 px per frame; at FLAG_WORST_T the frame shown is floor(t * fps)."""
    import cv2

    url = f"/analyses/{world.done['ann']}/reps/{FLAGGED_REP}/thumbnail"
    response = world.client.get(url, headers=world.auth("ann"))
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.content[:3] == b"\xff\xd8\xff"
    image = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert (image.shape[1], image.shape[0]) == FAKE_SIZE  # small videos are not upscaled
    frame = int(np.floor(FLAG_WORST_T * FAKE_FPS + 1e-6))
    expected_centre = (frame * 4) % (FAKE_SIZE[0] - 16) + 8
    columns = np.nonzero(image[40:56].mean(axis=0) > 150)[0]
    assert abs(columns.mean() - expected_centre) <= 1.5
    again = world.client.get(url, headers=world.auth("ann"))
    assert again.content == response.content  # served from the cache
    assert (world.settings.thumbs_dir / world.done["ann"] / f"rep{FLAGGED_REP}.jpg").is_file()
    assert_error(world.client.get(f"/analyses/{world.done['ann']}/reps/9/thumbnail", headers=world.auth("ann")),
                 404, "not_found")


def test_unknown_ids_are_404(world: World) -> None:
    unknown = new_id()
    for method, url in (("GET", f"/analyses/{unknown}"), ("GET", f"/analyses/{unknown}/video"),
                        ("GET", f"/analyses/{unknown}/reps/1/thumbnail"), ("GET", "/analyses/..%2F..%2Fetc"),
                        ("GET", "/analyses/" + "a" * 500)):
        assert_error(world.client.request(method, url, headers=world.auth("ann")), 404)
    assert_error(world.client.put(f"/analyses/{unknown}/reps/1/faults/rounded_back/review", headers=world.auth("cora"),
                                  json={"decision": "confirmed", "comment": ""}), 404, "not_found")


def _insert_unfinished(world: World, status: str) -> str:
    with get_sessionmaker(world.settings.db_url)() as session:
        # 'running' with an attempt number no worker holds: the dispatcher never touches it
        row = Analysis(athlete_id=world.user_ids["ann"], uploaded_by=world.user_ids["ann"], filename="x.mp4",
                       clip_path="/nonexistent", output_dir="/nonexistent", options={"exercise": "auto"},
                       status=status, attempts=99, progress=42.0, stage="pose", created_at=utcnow())
        session.add(row)
        session.commit()
        return row.id


def test_unfinished_analysis_is_409_for_video_thumbnail_and_review(world: World) -> None:
    analysis_id = _insert_unfinished(world, "running")
    detail = world.client.get(f"/analyses/{analysis_id}", headers=world.auth("ann")).json()
    assert (detail["status"], detail["progress"], detail["stage"]) == ("running", 42.0, "pose")
    assert detail["report"] is None and detail["video_url"] is None
    assert_error(world.client.get(f"/analyses/{analysis_id}/video", headers=world.auth("ann")), 409, "not_ready")
    assert_error(world.client.get(f"/analyses/{analysis_id}/reps/1/thumbnail", headers=world.auth("ann")),
                 409, "not_ready")
    assert_error(world.client.put(f"/analyses/{analysis_id}/reps/1/faults/rounded_back/review",
                                  headers=world.auth("cora"), json={"decision": "confirmed", "comment": ""}),
                 409, "not_ready")


# --- every endpoint, cross-account -------------------------------------------------------------------

# (method, path template, body) -> expected status for ann / ben / cora (linked to ann) / dave (unlinked)
ENDPOINTS_ON_ANNS_ANALYSIS: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    ("GET", "/analyses/{id}", None, {"ann": 200, "ben": 404, "cora": 200, "dave": 404}),
    ("GET", "/analyses/{id}/video", None, {"ann": 200, "ben": 404, "cora": 200, "dave": 404}),
    ("GET", "/analyses/{id}/reps/2/thumbnail", None, {"ann": 200, "ben": 404, "cora": 200, "dave": 404}),
    ("PUT", "/analyses/{id}/reps/2/faults/rounded_back/review", {"decision": "dismissed", "comment": "fine"},
     {"ann": 403, "ben": 403, "cora": 200, "dave": 404}),
    ("PUT", "/analyses/{id}/reps/1/faults/rounded_back/review", {"decision": "confirmed", "comment": ""},
     {"ann": 403, "ben": 403, "cora": 404, "dave": 404}),
]


@pytest.mark.parametrize(("method", "path", "body", "expected"), ENDPOINTS_ON_ANNS_ANALYSIS,
                         ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS_ON_ANNS_ANALYSIS])
@pytest.mark.parametrize("who", ["ann", "ben", "cora", "dave", None])
def test_endpoint_cross_account(world: World, method: str, path: str, body: dict[str, Any] | None,
                                expected: dict[str, int], who: str | None) -> None:
    url = path.format(id=world.done["ann"])
    response = world.client.request(method, url, headers=world.auth(who), json=body)
    status = 401 if who is None else expected[who]
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status)


@pytest.mark.parametrize(("who", "sees"), [("ann", {"ann"}), ("ben", {"ben"}), ("cora", {"ann"}), ("dave", set())])
def test_list_and_me_cross_account(world: World, who: str, sees: set[str]) -> None:
    listed = world.client.get("/analyses", headers=world.auth(who)).json()["analyses"]
    assert {a["athlete"]["name"] for a in listed} == sees
    me = world.client.get("/me", headers=world.auth(who)).json()
    assert me["name"] == who and me["id"] == world.user_ids[who]
    assert me["role"] == ("coach" if who in ("cora", "dave") else "athlete")
    assert [a["name"] for a in me["athletes"]] == (["ann"] if who == "cora" else [])
    other = world.user_ids["ben" if who != "ben" else "ann"]
    assert_error(world.client.get(f"/analyses?athlete_id={other}", headers=world.auth(who)), 404, "not_found")
    assert_error(world.client.get("/me"), 401, "unauthorized")


@pytest.mark.parametrize(("who", "status"), [("ann", 403), ("ben", 403), ("cora", 200), ("dave", 200), (None, 401)])
def test_queue_cross_account(world: World, who: str | None, status: int) -> None:
    response = world.client.get("/review/queue?status=all", headers=world.auth(who))
    if status != 200:
        assert_error(response, status)
        return
    athletes = {item["athlete"]["name"] for item in response.json()["items"]}
    assert athletes == ({"ann"} if who == "cora" else set())


# --- the coach flow ----------------------------------------------------------------------------------


def test_coach_reviews_a_flag_and_the_athlete_sees_it(world: World) -> None:
    analysis_id = world.upload("ann").json()["id"]
    assert world.wait("ann", analysis_id)["status"] == "done"
    queue = world.client.get("/review/queue", headers=world.auth("cora")).json()["items"]
    mine = [item for item in queue if item["analysis_id"] == analysis_id]
    assert len(mine) == 1
    item = mine[0]
    assert item["rep_index"] == FLAGGED_REP and item["review"] is None
    assert item["fault"]["code"] == "rounded_back" and item["fault"]["worst_t"] == FLAG_WORST_T
    assert set(item["fault"]) == {"code", "severity", "confidence", "worst_t", "measured", "threshold", "unit"}
    assert item["cue"] == "Brace before you pull: keep your back flat"
    assert item["thumbnail_url"] == f"/analyses/{analysis_id}/reps/{FLAGGED_REP}/thumbnail"
    assert world.client.get(item["thumbnail_url"], headers=world.auth("cora")).status_code == 200
    created = [i["analysis_created_at"] for i in queue]
    assert created == sorted(created, reverse=True)

    url = f"/analyses/{analysis_id}/reps/{FLAGGED_REP}/faults/rounded_back/review"
    first = world.client.put(url, headers=world.auth("cora"), json={"decision": "confirmed", "comment": "Brace!"})
    assert first.status_code == 200, first.text
    assert first.json()["coach"] == {"id": world.user_ids["cora"], "name": "cora"}
    second = world.client.put(url, headers=world.auth("cora"), json={"decision": "dismissed", "comment": "on video"})
    assert second.json()["decision"] == "dismissed" and second.json()["updated_at"] >= first.json()["updated_at"]

    reviews = world.client.get(f"/analyses/{analysis_id}", headers=world.auth("ann")).json()["reviews"]
    assert [(r["rep_index"], r["code"], r["decision"], r["comment"], r["coach"]["name"]) for r in reviews] == [
        (FLAGGED_REP, "rounded_back", "dismissed", "on video", "cora")]
    pending = world.client.get("/review/queue", headers=world.auth("cora")).json()["items"]
    assert analysis_id not in {i["analysis_id"] for i in pending}
    everything = world.client.get("/review/queue?status=all", headers=world.auth("cora")).json()["items"]
    reviewed = [i for i in everything if i["analysis_id"] == analysis_id]
    assert reviewed[0]["review"]["decision"] == "dismissed"


@pytest.mark.parametrize(("body", "code"), [
    ({"decision": "maybe", "comment": ""}, "invalid_request"),
    ({"decision": "confirmed", "comment": "x" * 2001}, "invalid_request"),
    ({"comment": "no decision"}, "invalid_request"),
])
def test_bad_review_body_is_422(world: World, body: dict[str, Any], code: str) -> None:
    url = f"/analyses/{world.done['ann']}/reps/{FLAGGED_REP}/faults/rounded_back/review"
    assert_error(world.client.put(url, headers=world.auth("cora"), json=body), 422, code)
    assert_error(world.client.get("/review/queue?status=some", headers=world.auth("cora")), 422, "invalid_request")


# --- the page, docs and health -------------------------------------------------------------------------


def test_public_routes(world: World) -> None:
    assert world.client.get("/healthz").json() == {"ok": True}
    page = world.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert world.client.get("/docs").status_code == 200
    spec = world.client.get("/openapi.json").json()
    upload = spec["paths"]["/analyses"]["post"]
    assert set(upload["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]) == {
        "file", "exercise", "height_m", "athlete_id"}
    assert "202" in upload["responses"] and "413" in upload["responses"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert_error(world.client.get("/no/such/page"), 404, "not_found")

