"""The web page in a real browser: Playwright (sync API) driving Debian's Chromium against a real ``hinge serve``.

One upload of the generated clip with a rounded back on one rep serves the athlete and coach tests: the athlete
signs in, uploads through the page's file input with a visible progress bar, follows the job to "done", plays
the annotated video, clicks a rep to seek; the linked coach confirms the flag from the review queue and the
athlete sees the decision. Skips only when Chromium or Playwright is not installed (CI installs both).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError:
    pytest.skip("playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.service, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "sample_videos" / "deadlift_rounded_side.mp4"
TRUTH = REPO / "sample_videos" / "deadlift_rounded_side.json"

ANALYSIS_TIMEOUT_S = 300  # the real pipeline takes ~25-60 s here, more when the machine is busy
SERVER_START_TIMEOUT_S = 90
UPLOAD_THROUGHPUT_BPS = 48_000  # throttled so the ~100 kB clip takes ~2 s and the bar shows its steps
SEEK_TOLERANCE_S = 0.3
PLAY_WINDOW_S = 1.0
MIN_PLAYED_FRACTION = 0.25  # currentTime must advance by at least this share of the wall-clock window
PHONE_WIDTH_PX = 390
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")  # URL-safe base64; may start or end with "-"


# --------------------------------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        HINGE_DATA_DIR=str(data_dir),
        HINGE_WORKERS="1",
        HINGE_HOST="127.0.0.1",
        HINGE_PORT=str(port),
    )
    env.pop("HINGE_DATABASE_URL", None)
    env.pop("HINGE_DASK_SCHEDULER", None)
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "analyzer.cli", *args], env=env, cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"hinge {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}"
    return done.stdout


def _add_user(env: dict[str, str], name: str, role: str) -> str:
    out = _cli(env, "users", "add", name, "--role", role)
    tokens = [line.strip() for line in out.splitlines() if TOKEN.fullmatch(line.strip())]
    assert tokens, f"no token in the output of 'hinge users add {name}': {out!r}"
    return tokens[-1]


@dataclass
class Server:
    url: str
    tokens: dict[str, str]
    log: Path

    def get_json(self, path: str, who: str) -> Any:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.tokens[who]}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser_server")
    port = _free_port()
    env = _env(root / "data", port)
    tokens = {"ana": _add_user(env, "ana", "athlete"), "cole": _add_user(env, "cole", "coach")}
    _cli(env, "users", "link", "cole", "ana")
    log = root / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "analyzer.cli", "serve", "--host", "127.0.0.1", "--port",
                                 str(port)], env=env, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"hinge serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if json.load(response).get("ok"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"hinge serve did not answer /healthz in {SERVER_START_TIMEOUT_S} s:\n"
                            f"{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Server(url, tokens, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def _signed_in_page(context: BrowserContext, server: Server, who: str) -> Page:
    page = context.new_page()
    page.goto(server.url + "/")
    page.fill("#token", server.tokens[who])
    page.click("#sign-in-form button[type=submit]")
    page.wait_for_selector(f"#who-name:has-text('{who}')")
    return page


# Records every value the upload bar and the job status take, so the test can tell that progress really moved.
OBSERVE = """() => {
  window.__seen = {upload: [], status: []};
  const watch = () => {
    const bar = document.querySelector('#upload-progress');
    const status = document.querySelector('.upload-form ~ .job-status');
    if (!bar || !status) return false;
    new MutationObserver(() => window.__seen.upload.push(Number(bar.value)))
      .observe(bar, {attributes: true, attributeFilter: ['value']});
    new MutationObserver(() => window.__seen.status.push(status.dataset.status))
      .observe(status, {attributes: true, attributeFilter: ['data-status']});
    return true;
  };
  if (!watch()) throw new Error('upload form not on the page');
}"""


@dataclass
class Session:
    """The athlete's page after one upload through the page, and what was observed on the way."""

    page: Page
    context: BrowserContext
    analysis_id: str
    detail: dict[str, Any]
    upload_values: list[float]
    statuses: list[str]
    bar_visible_after_submit: bool
    analysis_s: float
    timings: dict[str, float] = field(default_factory=dict)


@pytest.fixture(scope="module")
def athlete(browser: Browser, server: Server) -> Iterator[Session]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = _signed_in_page(context, server, "ana")
    page.wait_for_selector("#upload-progress", state="attached")
    page.evaluate(OBSERVE)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": UPLOAD_THROUGHPUT_BPS})
    page.set_input_files("input[type=file]", str(CLIP))
    page.select_option("select[name=exercise]", "deadlift")
    started = time.monotonic()
    page.click(".upload-form button[type=submit]")
    page.wait_for_selector("#upload-progress", state="visible", timeout=10_000)
    bar_visible = True
    page.wait_for_selector(".upload-progress[data-state=done], .upload-progress[data-state=failed]", timeout=60_000)
    uploaded = time.monotonic()
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    upload_error = page.locator(".upload-form .error")
    assert upload_error.is_hidden(), f"upload failed on the page: {upload_error.text_content()}"
    page.wait_for_selector(".job-status[data-status=done], .job-status[data-status=failed]",
                           timeout=ANALYSIS_TIMEOUT_S * 1000)
    finished = time.monotonic()
    seen = page.evaluate("window.__seen")
    status_text = page.locator(".upload-form ~ .job-status").inner_text()
    assert page.locator(".upload-form ~ .job-status").get_attribute("data-status") == "done", status_text
    link = page.locator(".result-link a")
    analysis_id = link.get_attribute("href").rsplit("/", 1)[-1]
    link.click()
    page.wait_for_selector("#result-video")
    detail = server.get_json(f"/analyses/{analysis_id}", "ana")
    yield Session(page, context, analysis_id, detail, seen["upload"], seen["status"], bar_visible,
                  finished - uploaded, {"upload_s": uploaded - started, "analysis_s": finished - uploaded})
    context.close()


def _expected_flag() -> tuple[int, str]:
    """The rep the generated clip rounds the back on (from its ground truth), and the code it should earn."""
    truth = json.loads(TRUTH.read_text())
    rounded = [r["index"] for r in truth["reps"] if any(f["fault"] == "spine_flexion" for f in r["faults"])]
    assert len(rounded) == 1, rounded
    return rounded[0], "rounded_back"


def _rep(detail: dict[str, Any], index: int) -> dict[str, Any]:
    return next(r for r in detail["report"]["reps"] if r["index"] == index)


# --------------------------------------------------------------------------------------------------- tests


def test_upload_shows_progress_then_done(athlete: Session) -> None:
    print(f"\nupload {athlete.timings['upload_s']:.1f} s, analysis {athlete.timings['analysis_s']:.1f} s")
    assert athlete.bar_visible_after_submit
    steps = [v for v in athlete.upload_values if 0 < v < 100]
    assert steps, f"the upload bar never showed a value between 0 and 100: {athlete.upload_values}"
    assert athlete.upload_values[-1] == 100
    assert athlete.upload_values == sorted(athlete.upload_values), "upload progress went backwards"
    assert "running" in athlete.statuses, f"the page never showed the job running: {athlete.statuses}"
    assert athlete.statuses[-1] == "done"
    assert athlete.detail["status"] == "done"
    page = athlete.page
    rows = page.locator("li.rep")
    assert rows.count() == athlete.detail["rep_count"] == len(athlete.detail["report"]["reps"])
    flagged = page.locator("li.rep.flagged")
    assert flagged.count() == athlete.detail["flagged_rep_count"]


def test_video_really_plays(athlete: Session) -> None:
    page = athlete.page
    page.wait_for_function("() => document.querySelector('#result-video').readyState >= 2", timeout=60_000)
    played = page.evaluate(
        """async (windowS) => {
          const v = document.querySelector('#result-video');
          v.muted = true;
          await v.play();
          const t0 = v.currentTime, w0 = performance.now();
          await new Promise(r => setTimeout(r, windowS * 1000));
          const out = {advanced: v.currentTime - t0, wall: (performance.now() - w0) / 1000,
                       readyState: v.readyState, width: v.videoWidth, duration: v.duration, paused: v.paused};
          v.pause();
          return out;
        }""",
        PLAY_WINDOW_S,
    )
    print(f"\nplayed {played['advanced']:.2f} s of video in {played['wall']:.2f} s")
    assert played["readyState"] >= 2
    assert played["width"] > 0
    assert played["advanced"] >= MIN_PLAYED_FRACTION * played["wall"], played
    clip_duration = athlete.detail["report"]["clip"]["duration_s"]
    assert abs(played["duration"] - clip_duration) < 0.5, (played["duration"], clip_duration)


def test_clicking_a_rep_seeks_the_video(athlete: Session) -> None:
    page = athlete.page
    rep_index, _ = _expected_flag()
    start_s = _rep(athlete.detail, rep_index)["start_s"]
    page.wait_for_function("() => document.querySelector('#result-video').readyState >= 1", timeout=60_000)
    # Park the video at 0 first, then catch the seek the click causes.
    page.evaluate(
        """async () => {
          const v = document.querySelector('#result-video');
          v.pause();
          if (v.currentTime !== 0) {
            const parked = new Promise(r => v.addEventListener('seeked', r, {once: true}));
            v.currentTime = 0;
            await parked;
          }
          window.__seekedAt = new Promise(r => v.addEventListener('seeked', () => r(v.currentTime), {once: true}));
        }"""
    )
    page.locator(f"li.rep[data-rep='{rep_index}'] .rep-metrics").click()
    seeked_at = page.evaluate("window.__seekedAt")
    print(f"\nrep {rep_index} starts at {start_s:.3f} s; the video seeked to {seeked_at:.3f} s")
    assert abs(seeked_at - start_s) <= SEEK_TOLERANCE_S
    page.wait_for_function(f"() => document.querySelector(\"li.rep[data-rep='{rep_index}']\")"
                           ".getAttribute('aria-current') === 'true'", timeout=10_000)
    assert page.evaluate("!document.querySelector('#result-video').paused")
    page.evaluate("document.querySelector('#result-video').pause()")


def test_coach_confirms_flag_and_athlete_sees_it(browser: Browser, server: Server, athlete: Session) -> None:
    rep_index, code = _expected_flag()
    fault = next(f for f in _rep(athlete.detail, rep_index)["faults"] if f["code"] == code)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        coach = _signed_in_page(context, server, "cole")
        item = coach.locator(f".queue-item[data-analysis='{athlete.analysis_id}'][data-rep='{rep_index}']"
                             f"[data-code='{code}']")
        item.wait_for(timeout=30_000)
        assert "Rounded back" in item.inner_text()
        assert "threshold" in item.inner_text()
        thumb = item.locator("img.thumb")
        coach.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=thumb.element_handle(),
                                timeout=30_000)
        natural = thumb.evaluate("(img) => [img.naturalWidth, img.naturalHeight]")
        print(f"\nthumbnail {natural[0]}x{natural[1]}; fault measured {fault['measured']:.4f} "
              f"vs threshold {fault['threshold']:.4f} {fault['unit']}")
        comment = "Good catch: brace harder before the second pull"
        item.locator("textarea").fill(comment)
        item.locator("button.confirm").click()
        item.locator(".saved").filter(has_text="Confirmed").wait_for(timeout=15_000)
        assert "confirmed" in item.locator(".review").inner_text().lower()
    finally:
        context.close()

    page = athlete.page
    page.reload()
    row = page.locator(f"li.rep[data-rep='{rep_index}']")
    row.locator(".review.decision-confirmed").wait_for(timeout=30_000)
    text = row.inner_text()
    assert "confirmed" in text.lower()
    assert comment in text
    assert "cole" in text
    other_rows = page.locator(f"li.rep:not([data-rep='{rep_index}']) .review.decision-confirmed")
    assert other_rows.count() == 0


@pytest.mark.parametrize("view", ["result", "home"])
def test_page_fits_a_phone(athlete: Session, server: Server, view: str) -> None:
    page = athlete.page
    route = {"result": f"#/analyses/{athlete.analysis_id}", "home": "#/"}[view]
    ready = {"result": "li.rep", "home": ".history-row"}[view]
    page.set_viewport_size({"width": PHONE_WIDTH_PX, "height": 844})
    try:
        page.goto(f"{server.url}/{route}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {view} page scrolls sideways by {overflow} px at {PHONE_WIDTH_PX} px wide"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def _blank_clip(path: Path) -> None:
    """One second of grey frames: a real H.264 clip that decodes fine but has nobody in it."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        grey = np.full((120, 160, 3), 128, np.uint8)
        for _ in range(30):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
        out.mux(stream.encode())


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        # refused at upload: the form shows the API's message
        ("notes.mp4", b"this is a shopping list, not a video\n", ".upload-form .error"),
        ("empty.mp4", b"", ".upload-form .error"),
        # accepted, then the analysis fails: the job status shows the job's error
        ("nobody.mp4", None, ".job-status .error"),
    ],
    ids=["not-a-video", "empty", "nobody-in-it"],
)
def test_bad_upload_shows_a_plain_message(browser: Browser, server: Server, tmp_path: Path, name: str,
                                          content: bytes | None, where: str) -> None:
    bad = tmp_path / name
    if content is None:
        _blank_clip(bad)
    else:
        bad.write_bytes(content)
    context = browser.new_context()
    try:
        page = _signed_in_page(context, server, "ana")
        page.set_input_files("input[type=file]", str(bad))
        page.click(".upload-form button[type=submit]")
        shown = page.locator(".upload-form .error:visible, .job-status .error:visible").first
        shown.wait_for(timeout=ANALYSIS_TIMEOUT_S * 1000)
        message = shown.inner_text().strip()
        print(f"\n{name}: {message}")
        assert page.locator(f"{where}:visible").count() == 1, f"the message showed up elsewhere: {message}"
        assert message
        assert "{" not in message and "detail" not in message and "Traceback" not in message, message
        assert page.locator("#view").inner_text().strip(), "the page went blank"
    finally:
        context.close()


def test_sign_out_forgets_the_token(browser: Browser, server: Server) -> None:
    context = browser.new_context()
    try:
        page = _signed_in_page(context, server, "ana")
        assert page.evaluate("localStorage.getItem('hinge.token')") == server.tokens["ana"]
        page.click("#sign-out")
        page.locator("#sign-in").wait_for(state="visible")
        assert page.evaluate("localStorage.getItem('hinge.token')") is None
        page.reload()
        page.locator("#sign-in").wait_for(state="visible")
        assert page.locator("#who").is_hidden()
    finally:
        context.close()


def test_wrong_token_is_refused_plainly(browser: Browser, server: Server) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        page.fill("#token", "not-a-real-token")
        page.click("#sign-in-form button[type=submit]")
        error = page.locator("#sign-in-error")
        error.wait_for(state="visible", timeout=10_000)
        assert "not accepted" in error.inner_text()
        assert page.locator("#who").is_hidden()
    finally:
        context.close()


ERROR_BODIES = [
    # (HTTP status, response body, what the page must say)
    (404, '{"detail": "No analysis with that id.", "code": "not_found"}', "No analysis with that id."),
    (422, '{"detail": [{"loc": ["body", "height_m"], "msg": "Input should be less than or equal to 2.5"}]}',
     "height_m: Input should be less than or equal to 2.5"),
    (502, "<html><body>Bad gateway</body></html>", "The server hit a problem (HTTP 502). Try again in a moment."),
    (413, "", "That file is too large to upload. Trim the clip and try again."),
    (400, '{"detail": "", "code": "x"}', "The request was not understood. Check the form and try again."),
]


def test_error_bodies_become_plain_sentences(browser: Browser, server: Server) -> None:
    """Whatever shape an error body has (the contract's, FastAPI's list, a proxy's HTML), one sentence shows."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        got = page.evaluate(
            """async (cases) => {
              const {messageFromResponse} = await import('/static/api.js');
              return cases.map(([status, body]) => messageFromResponse(status, body).message);
            }""",
            [[status, body] for status, body, _ in ERROR_BODIES],
        )
    finally:
        context.close()
    assert got == [expected for _, _, expected in ERROR_BODIES]
