// The hinge web page: sign in with a token, upload clips, follow analyses, read the result beside the
// annotated video, and (coaches) review flagged reps. Hash routes keep every view reloadable:
//   #/                      home (athlete: upload + history; coach: review queue + athletes)
//   #/analyses/ID[/reps/N]  one analysis (status while it runs, then video + reps)
//   #/athletes/ID           a coach's view of one athlete (upload for them, their history)

import { api, ApiError, fetchObjectUrl, setUnauthorizedHandler, token, uploadAnalysis } from "./api.js";
import {
  bytes,
  EXERCISE_CHOICES,
  exerciseLabel,
  faultLabel,
  h,
  isNumber,
  num,
  seconds,
  when,
  withUnit,
} from "./dom.js";
import { trendPlot } from "./trend.js";

const POLL_MS = 1000;
const POLL_MAX_MS = 10000;
const HISTORY_POLL_MS = 3000;

const $ = (id) => document.getElementById(id);

/** Who is signed in (GET /me), or null. */
let me = null;

/** Work tied to the current view (timers, object URLs) is undone when the view changes. */
let teardown = [];
let viewGeneration = 0;

function onLeave(fn) {
  teardown.push(fn);
}

function leaveView() {
  for (const fn of teardown.splice(0)) {
    try {
      fn();
    } catch {
      // a teardown step failing must not stop the others
    }
  }
  viewGeneration += 1;
}

/** Object URL for a token-protected media path, revoked when the view changes. */
async function mediaUrl(path) {
  const url = await fetchObjectUrl(path);
  onLeave(() => URL.revokeObjectURL(url));
  return url;
}

// ---------------------------------------------------------------------------------------------------
// Messages

function showMessage(text, { retry } = {}) {
  const box = $("message");
  box.replaceChildren(h("span", {}, text));
  if (retry) box.append(" ", h("button", { type: "button", class: "secondary", onclick: retry }, "Try again"));
  box.append(" ", h("button", { type: "button", class: "link", onclick: clearMessage, "aria-label": "Dismiss message" }, "Dismiss"));
  box.hidden = false;
}

function clearMessage() {
  $("message").hidden = true;
  $("message").replaceChildren();
}

function errorText(error) {
  return error instanceof ApiError ? error.message : "Something went wrong on this page. Reload it and try again.";
}

/** A paragraph that shows one plain error sentence (role=alert, so screen readers hear it). */
function errorLine() {
  const el = h("p", { class: "error", role: "alert", hidden: true });
  return {
    el,
    show(error) {
      el.textContent = typeof error === "string" ? error : errorText(error);
      el.hidden = false;
    },
    clear() {
      el.textContent = "";
      el.hidden = true;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Sign in / out

function showSignIn(reason) {
  leaveView();
  me = null;
  $("who").hidden = true;
  $("view").replaceChildren();
  $("sign-in").hidden = false;
  const err = $("sign-in-error");
  err.textContent = reason || "";
  err.hidden = !reason;
  $("token").value = "";
  $("token").focus();
}

async function signIn(value) {
  token.set(value);
  try {
    me = await api.me();
  } catch (error) {
    token.clear();
    me = null;
    if (error instanceof ApiError && error.status === 401) {
      showSignIn("That token was not accepted. Check that you pasted all of it.");
    } else {
      showSignIn(errorText(error));
    }
    return;
  }
  clearMessage();
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = `${me.name} (${me.role})`;
  render();
}

function signOut() {
  token.clear();
  clearMessage();
  showSignIn("");
  if (location.hash && location.hash !== "#/") history.replaceState(null, "", "#/");
}

setUnauthorizedHandler(() => {
  token.clear();
  showSignIn("Your token was not accepted (it may have been revoked). Sign in again.");
});

// ---------------------------------------------------------------------------------------------------
// Routing

function route() {
  const path = location.hash.replace(/^#/, "") || "/";
  let m = path.match(/^\/analyses\/([0-9a-zA-Z_-]+)(?:\/reps\/(\d+))?\/?$/);
  if (m) return { name: "analysis", id: m[1], rep: m[2] ? Number(m[2]) : null };
  m = path.match(/^\/athletes\/(\d+)\/?$/);
  if (m) return { name: "athlete", id: Number(m[1]) };
  return { name: "home" };
}

function render() {
  if (!me) return;
  leaveView();
  const view = $("view");
  view.replaceChildren();
  const r = route();
  if (r.name === "analysis") renderAnalysis(view, r.id, r.rep);
  else if (r.name === "athlete" && me.role === "coach") renderCoachAthlete(view, r.id);
  else if (me.role === "coach") renderCoachHome(view);
  else renderAthleteHome(view);
  const heading = view.querySelector("h1");
  if (heading && document.activeElement !== $("token")) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// Polling one analysis until it is done or failed

/**
 * Call onUpdate(summary) with each fresh GET /analyses/{id} until its status is final.
 * Transient failures back off and retry; a 404 stops. Stops by itself when the view changes.
 */
function followAnalysis(id, onUpdate, onError) {
  let timer = null;
  let stopped = false;
  let delay = POLL_MS;
  const generation = viewGeneration;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  onLeave(stop);
  const tick = async () => {
    if (stopped || generation !== viewGeneration) return;
    try {
      const analysis = await api.analysis(id);
      if (stopped || generation !== viewGeneration) return;
      delay = POLL_MS;
      onUpdate(analysis);
      if (analysis.status === "done" || analysis.status === "failed") return stop();
    } catch (error) {
      if (stopped || generation !== viewGeneration) return;
      onError(error);
      if (error instanceof ApiError && [401, 403, 404].includes(error.status)) return stop();
      delay = Math.min(delay * 2, POLL_MAX_MS);
    }
    timer = setTimeout(tick, delay);
  };
  tick();
  return stop;
}

/** The status block shared by the upload card and the analysis page. */
function statusBlock() {
  const bar = h("progress", { class: "job-progress", max: "100", value: "0", "aria-label": "Analysis progress" });
  const text = h("p", { class: "status-text", role: "status" });
  const failure = errorLine();
  const el = h("div", { class: "job-status", hidden: true }, text, bar, failure.el);
  return {
    el,
    update(a) {
      el.hidden = false;
      el.dataset.status = a.status;
      failure.clear();
      if (a.status === "queued") {
        text.textContent = "Queued: waiting for a free worker.";
        bar.hidden = false;
        bar.removeAttribute("value"); // indeterminate until a worker picks it up
      } else if (a.status === "running") {
        const pct = isNumber(a.progress) ? Math.max(0, Math.min(100, a.progress)) : 0;
        text.textContent = `Analysing${a.stage ? `: ${a.stage}` : ""} (${pct.toFixed(0)}%)`;
        bar.hidden = false;
        bar.value = pct;
      } else if (a.status === "done") {
        bar.hidden = false;
        bar.value = 100;
        text.textContent = `Done: ${countsText(a)}.`;
      } else if (a.status === "failed") {
        bar.hidden = true;
        text.textContent = "The analysis failed.";
        failure.show(a.error || "The analysis failed without a message. Try filming the clip again.");
      }
    },
  };
}

function countsText(a) {
  if (!isNumber(a.rep_count)) return "no reps counted";
  const reps = `${a.rep_count} rep${a.rep_count === 1 ? "" : "s"}`;
  const flagged = isNumber(a.flagged_rep_count) ? `, ${a.flagged_rep_count} flagged` : "";
  return reps + flagged;
}

// ---------------------------------------------------------------------------------------------------
// Upload

/**
 * The upload form with its progress bar and the new job's status.
 * @param {number|null} athleteId for a coach uploading on an athlete's behalf
 * @param {() => void} onFinished called when the job is done or failed (refresh the history)
 */
function uploadCard(athleteId, onFinished) {
  const uid = athleteId == null ? "own" : `a${athleteId}`;
  const fileInput = h("input", { id: `file-${uid}`, name: "file", type: "file", accept: "video/*,.mp4,.mov,.m4v,.webm" });
  const exercise = h(
    "select",
    { id: `exercise-${uid}`, name: "exercise" },
    EXERCISE_CHOICES.map((code) => h("option", { value: code }, exerciseLabel(code))),
  );
  const height = h("input", {
    id: `height-${uid}`, name: "height_m", type: "number", inputmode: "decimal", min: "1.0", max: "2.5", step: "0.01",
    placeholder: "1.75", "aria-describedby": `height-help-${uid}`,
  });
  const submit = h("button", { type: "submit" }, "Upload and analyse");
  const formError = errorLine();

  const uploadBar = h("progress", { id: "upload-progress", max: "100", value: "0", "aria-label": "Upload progress" });
  const uploadText = h("span", { class: "upload-text" });
  const uploadBox = h("div", { class: "upload-progress", hidden: true, role: "status" }, uploadText, uploadBar);
  const status = statusBlock();
  const resultLink = h("p", { class: "result-link", hidden: true });

  const form = h(
    "form",
    { class: "upload-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: fileInput.id }, "Clip"), fileInput),
    h("div", { class: "field" }, h("label", { for: exercise.id }, "Exercise"), exercise),
    h(
      "div",
      { class: "field" },
      h("label", { for: height.id }, "Lifter height in metres (optional)"),
      height,
      h("small", { id: `height-help-${uid}`, class: "muted" }, "Lets the bar speed be given in m/s. Between 1.0 and 2.5."),
    ),
    formError.el,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.clear();
    const file = fileInput.files && fileInput.files[0];
    if (!file) return formError.show("Choose a video file first.");
    const heightText = height.value.trim();
    const heightValue = Number(heightText);
    if (heightText && !(heightValue >= 1.0 && heightValue <= 2.5)) {
      return formError.show("Height must be in metres, between 1.0 and 2.5 (for example 1.75).");
    }
    const data = new FormData();
    data.append("file", file, file.name);
    data.append("exercise", exercise.value);
    if (heightText) data.append("height_m", String(heightValue));
    if (athleteId != null) data.append("athlete_id", String(athleteId));

    submit.disabled = true;
    resultLink.hidden = true;
    status.el.hidden = true;
    uploadBox.hidden = false;
    uploadBox.dataset.state = "uploading";
    uploadBar.value = 0;
    uploadText.textContent = `Uploading ${file.name}…`;
    const generation = viewGeneration;
    let summary;
    try {
      summary = await uploadAnalysis(data, (loaded, total) => {
        const pct = total > 0 ? (100 * loaded) / total : 0;
        uploadBar.value = pct;
        uploadText.textContent = `Uploading ${file.name}: ${bytes(loaded)} of ${bytes(total)} (${pct.toFixed(0)}%)`;
      });
    } catch (error) {
      if (generation !== viewGeneration) return;
      uploadBox.dataset.state = "failed";
      uploadText.textContent = `Upload of ${file.name} did not go through.`;
      formError.show(error);
      submit.disabled = false;
      return;
    }
    if (generation !== viewGeneration) return;
    uploadBox.dataset.state = "done";
    uploadBar.value = 100;
    uploadText.textContent = `Uploaded ${file.name} (${bytes(file.size)}).`;
    submit.disabled = false;
    form.reset();
    status.update(summary);
    onFinished();
    followAnalysis(
      summary.id,
      (a) => {
        status.update(a);
        if (a.status === "done" || a.status === "failed") {
          resultLink.replaceChildren(
            h("a", { href: `#/analyses/${a.id}`, class: "button" }, a.status === "done" ? "Open the result" : "See the details"),
          );
          resultLink.hidden = false;
          onFinished();
        }
      },
      (error) => status.el.hidden || showMessage(`Checking on the analysis: ${errorText(error)}`),
    );
  });

  const title = athleteId == null ? "Analyse a clip" : "Upload a clip for this athlete";
  return h(
    "section",
    { class: "card", "aria-labelledby": `upload-title-${uid}` },
    h("h2", { id: `upload-title-${uid}` }, title),
    h("p", { class: "muted" }, "Film from the side, whole body in frame. The clip stays on this server."),
    form,
    uploadBox,
    status.el,
    resultLink,
  );
}

// ---------------------------------------------------------------------------------------------------
// History and trend

/** Mean depth of a session in degrees, whatever the summary calls it. */
function depthMean(a) {
  const m = a.metrics || {};
  return isNumber(m.depth_mean_deg) ? m.depth_mean_deg : isNumber(m.trunk_incline_max_deg_mean) ? m.trunk_incline_max_deg_mean : null;
}

// Fetches the rows of a list and shows them, or the error, unless the user has moved to another view
// meanwhile. Returns the items, or null when they are not shown.
async function showList(fetchItems, { list, empty, error, row, generation }) {
  let items;
  try {
    items = (await fetchItems()) || [];
  } catch (e) {
    if (generation === viewGeneration) error.show(e);
    return null;
  }
  if (generation !== viewGeneration) return null;
  error.clear();
  empty.hidden = items.length > 0;
  list.replaceChildren(...items.map(row));
  return items;
}

function historySection(athleteId, title) {
  const list = h("ol", { class: "history", "aria-label": "Sessions, newest first" });
  const plots = h("div", { class: "trends" });
  const error = errorLine();
  const empty = h("p", { class: "muted", hidden: true }, "No sessions yet. Upload a clip to start.");
  const section = h(
    "section",
    { class: "card", "aria-labelledby": `history-title-${athleteId ?? "own"}` },
    h("h2", { id: `history-title-${athleteId ?? "own"}` }, title),
    error.el,
    plots,
    empty,
    list,
  );
  const generation = viewGeneration;
  let timer = null;
  onLeave(() => clearTimeout(timer));

  async function refresh() {
    clearTimeout(timer);
    const analyses = await showList(async () => (await api.analyses(athleteId)).analyses,
      { list, empty, error, row: historyRow, generation });
    if (analyses === null) return;
    // Keep unfinished sessions' progress fresh (another tab or the coach may have uploaded them).
    if (analyses.some((a) => a.status === "queued" || a.status === "running")) timer = setTimeout(refresh, HISTORY_POLL_MS);
    const done = analyses.filter((a) => a.status === "done").slice().reverse(); // oldest first
    const points = (value) => done.map((a) => ({ at: a.created_at, value: value(a), label: `${when(a.created_at)} ${a.filename}` }));
    plots.replaceChildren();
    if (done.length) {
      plots.append(
        h("h3", {}, "Trend across sessions"),
        h(
          "div",
          { class: "trend-grid" },
          trendPlot({
            title: "Mean depth (trunk lean, degrees)", points: points(depthMean), format: (v) => `${num(v)}°`, unit: "°",
          }),
          trendPlot({
            title: "Flagged reps per session",
            points: points((a) => (isNumber(a.flagged_rep_count) ? a.flagged_rep_count : null)),
            format: (v) => String(Math.round(v)),
            counts: true,
          }),
        ),
      );
    }
  }
  refresh();
  return { el: section, refresh };
}

function historyRow(a) {
  const statusLabel = { queued: "queued", running: "analysing", done: "done", failed: "failed" }[a.status] || a.status;
  const depth = depthMean(a);
  const detail = [];
  if (a.status === "done") {
    detail.push(countsText(a));
    if (a.exercise) detail.push(exerciseLabel(a.exercise));
    if (isNumber(depth)) detail.push(`mean depth ${num(depth)}°`);
  } else if (a.status === "running" && isNumber(a.progress)) {
    detail.push(`${a.progress.toFixed(0)}%`);
  } else if (a.status === "failed" && a.error) {
    detail.push(a.error);
  }
  return h(
    "li",
    { class: `history-row status-${a.status}` },
    h("a", { href: `#/analyses/${a.id}` }, h("span", { class: "filename" }, a.filename || "clip"), " ", h("span", { class: "muted" }, when(a.created_at))),
    h("span", { class: `badge badge-${a.status}` }, statusLabel),
    h("span", { class: "history-detail" }, detail.join(" · ")),
  );
}

// ---------------------------------------------------------------------------------------------------
// Home pages

function renderAthleteHome(view) {
  const history = historySection(null, "Your sessions");
  view.append(
    h("h1", {}, `Hello, ${me.name}`),
    h("div", { class: "columns" }, uploadCard(null, history.refresh), history.el),
  );
}

function renderCoachHome(view) {
  view.append(h("h1", {}, `Coach ${me.name}`));
  const athletes = h(
    "section",
    { class: "card", "aria-labelledby": "athletes-title" },
    h("h2", { id: "athletes-title" }, "Your athletes"),
    me.athletes && me.athletes.length
      ? h("ul", { class: "athletes" }, me.athletes.map((a) => h("li", {}, h("a", { href: `#/athletes/${a.id}` }, a.name))))
      : h("p", { class: "muted" }, "No athletes linked yet (hinge users link COACH ATHLETE)."),
  );
  view.append(h("div", { class: "columns coach" }, queueSection(), athletes));
}

function renderCoachAthlete(view, athleteId) {
  const athlete = (me.athletes || []).find((a) => a.id === athleteId);
  if (!athlete) {
    view.append(
      h("h1", {}, "Athlete not found"),
      h("p", { class: "error", role: "alert" }, "This athlete is not linked to your account."),
      h("p", {}, h("a", { href: "#/" }, "Back to your athletes")),
    );
    return;
  }
  const history = historySection(athleteId, `${athlete.name}'s sessions`);
  view.append(
    h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Coach home")),
    h("h1", {}, athlete.name),
    h("div", { class: "columns" }, history.el, uploadCard(athleteId, history.refresh)),
  );
}

// ---------------------------------------------------------------------------------------------------
// Coach review: the queue and the confirm / dismiss form

/**
 * Confirm / dismiss with a comment for one flag. Calls onSaved(review) after the PUT succeeds.
 */
function reviewForm(analysisId, repIndex, code, existing, onSaved) {
  const id = `review-${analysisId}-${repIndex}-${code}`;
  const comment = h("textarea", { id: `${id}-comment`, rows: "2", maxlength: "2000", value: existing ? existing.comment : "" });
  const error = errorLine();
  const saved = h("p", { class: "saved", role: "status" });
  const buttons = [];
  const send = async (decision) => {
    error.clear();
    buttons.forEach((b) => (b.disabled = true));
    try {
      const review = await api.review(analysisId, repIndex, code, decision, comment.value.trim());
      saved.textContent = `${decision === "confirmed" ? "Confirmed" : "Dismissed"}. Saved.`;
      onSaved(review);
    } catch (e) {
      error.show(e);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  };
  buttons.push(
    h("button", { type: "button", class: "confirm", onclick: () => send("confirmed") }, "Confirm"),
    h("button", { type: "button", class: "dismiss secondary", onclick: () => send("dismissed") }, "Dismiss"),
  );
  return h(
    "div",
    { class: "review-form", role: "group", "aria-label": `Review ${faultLabel(code)} on rep ${repIndex}` },
    h("label", { for: comment.id }, "Comment for the athlete (optional)"),
    comment,
    h("div", { class: "buttons" }, buttons),
    error.el,
    saved,
  );
}

/** How a coach's decision reads, for athletes and coaches alike. */
function reviewView(review) {
  if (!review) return h("p", { class: "review pending" }, "Not reviewed by a coach yet.");
  const coach = review.coach && review.coach.name ? review.coach.name : "your coach";
  return h(
    "div",
    { class: `review decision-${review.decision}` },
    h("p", {}, h("strong", { class: "decision" }, review.decision), ` by ${coach}`, h("span", { class: "muted" }, ` · ${when(review.updated_at)}`)),
    review.comment ? h("blockquote", { class: "comment" }, review.comment) : null,
  );
}

function faultFigures(fault) {
  return `measured ${withUnit(fault.measured, fault.unit)} against threshold ${withUnit(fault.threshold, fault.unit)}`;
}

function queueSection() {
  const filter = h(
    "select",
    { id: "queue-filter", "aria-label": "Which flags to show" },
    h("option", { value: "pending" }, "Waiting for review"),
    h("option", { value: "all" }, "All flags"),
  );
  const list = h("ol", { class: "queue", "aria-label": "Flagged reps" });
  const error = errorLine();
  const empty = h("p", { class: "muted", hidden: true }, "Nothing is waiting for your review.");
  const generation = viewGeneration;

  async function load() {
    await showList(async () => (await api.queue(filter.value)).items, { list, empty, error, row: queueItem, generation });
  }
  filter.addEventListener("change", load);
  load();
  return h(
    "section",
    { class: "card", "aria-labelledby": "queue-title" },
    h("div", { class: "card-head" }, h("h2", { id: "queue-title" }, "Flagged reps to review"), filter),
    error.el,
    empty,
    list,
  );
}

function queueItem(item) {
  const fault = item.fault || {};
  const img = h("img", { class: "thumb", alt: `Rep ${item.rep_index} of ${item.athlete.name}'s clip at its worst moment`, width: "160", height: "90" });
  const thumbBox = h("div", { class: "thumb-box" }, img);
  mediaUrl(item.thumbnail_url)
    .then((url) => {
      img.src = url;
    })
    .catch(() => thumbBox.replaceChildren(h("span", { class: "muted" }, "No picture available")));
  const reviewSlot = h("div", {}, item.review ? reviewView(item.review) : null);
  const li = h(
    "li",
    { class: "queue-item", dataset: { analysis: item.analysis_id, rep: String(item.rep_index), code: fault.code || "" } },
    thumbBox,
    h(
      "div",
      { class: "queue-body" },
      h("p", { class: "queue-title" }, h("strong", {}, item.athlete.name), ` · rep ${item.rep_index} · `, h("span", { class: "muted" }, when(item.analysis_created_at))),
      h("p", { class: "fault-line" }, h("span", { class: "flag-mark", "aria-hidden": "true" }, "⚑ "), h("strong", {}, faultLabel(fault.code)), `: ${faultFigures(fault)}`),
      item.cue ? h("p", { class: "cue" }, `Cue: ${item.cue}`) : null,
      h("p", {}, h("a", { href: `#/analyses/${item.analysis_id}/reps/${item.rep_index}` }, "Open the session at this rep")),
      reviewSlot,
      reviewForm(item.analysis_id, item.rep_index, fault.code, item.review, (review) => {
        reviewSlot.replaceChildren(reviewView(review));
        li.classList.add("reviewed");
      }),
    ),
  );
  return li;
}

// ---------------------------------------------------------------------------------------------------
// One analysis

function renderAnalysis(view, id, focusRep) {
  const heading = h("h1", {}, "Analysis");
  const meta = h("p", { class: "meta muted" });
  const status = statusBlock();
  const loadError = errorLine();
  const body = h("div", { class: "analysis-body" });
  view.append(h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Back")), heading, meta, loadError.el, status.el, body);
  let shown = false;
  followAnalysis(
    id,
    (a) => {
      loadError.clear();
      heading.textContent = a.filename || "Analysis";
      meta.textContent = [
        me.role === "coach" && a.athlete ? a.athlete.name : null,
        `uploaded ${when(a.created_at)}`,
        a.options && a.options.exercise && a.options.exercise !== "auto" ? `asked for ${exerciseLabel(a.options.exercise)}` : null,
        a.options && isNumber(a.options.height_m) ? `height ${a.options.height_m} m` : null,
      ]
        .filter(Boolean)
        .join(" · ");
      status.update(a);
      if (a.status === "done" && !shown) {
        shown = true;
        status.el.hidden = true;
        renderResult(body, a, focusRep);
      }
    },
    (error) => loadError.show(error),
  );
}

function renderResult(body, a, focusRep) {
  const report = a.report;
  if (!report) {
    body.append(h("p", { class: "error", role: "alert" }, "The analysis finished but its report is missing. Upload the clip again."));
    return;
  }
  const reviews = new Map((a.reviews || []).map((r) => [`${r.rep_index}:${r.code}`, r]));
  const reps = report.reps || [];
  const video = h("video", {
    id: "result-video", controls: true, muted: true, playsinline: true, preload: "auto",
    "aria-label": `Annotated video of ${a.filename || "the clip"}`,
  });
  video.muted = true; // the attribute alone does not set the property in every browser
  const videoNote = h("p", { class: "muted video-note", role: "status" }, "Loading the video…");
  let pendingSeek = null;

  /** Seek to a rep's start and play; waits for the video's metadata if it has not arrived yet. */
  function playFrom(t) {
    if (!isNumber(t)) return;
    // On a phone the list sits below the video: bring the video back into view.
    const box = video.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) video.scrollIntoView({ block: "nearest", behavior: "smooth" });
    if (video.readyState >= 1) {
      video.currentTime = t;
      video.play().catch(() => {});
    } else {
      pendingSeek = t;
    }
  }
  video.addEventListener("loadedmetadata", () => {
    if (pendingSeek != null) {
      video.currentTime = pendingSeek;
      pendingSeek = null;
      video.play().catch(() => {});
    }
  });

  const videoPanel = h("div", { class: "video-panel" }, video, videoNote);
  if (a.video_url) {
    mediaUrl(a.video_url)
      .then((url) => {
        video.src = url;
        videoNote.textContent = "Click a rep to play it from its start.";
      })
      .catch((error) => {
        videoNote.textContent = "";
        videoNote.replaceWith(h("p", { class: "error", role: "alert" }, `The video could not be loaded: ${errorText(error)}`));
      });
  } else {
    videoNote.textContent = "No annotated video was made for this clip.";
  }

  const rows = reps.map((rep) => repRow(a, rep, reviews, playFrom));
  const repList = h("ol", { class: "reps", "aria-label": "Reps" }, rows);

  // Mark the rep being played, so the list follows the video.
  video.addEventListener("timeupdate", () => {
    const t = video.currentTime;
    reps.forEach((rep, i) => {
      const on = isNumber(rep.start_s) && isNumber(rep.end_s) && t >= rep.start_s && t < rep.end_s;
      rows[i].classList.toggle("playing", on);
      if (on) rows[i].setAttribute("aria-current", "true");
      else rows[i].removeAttribute("aria-current");
    });
  });

  body.append(summaryBlock(a, report), h("div", { class: "result" }, videoPanel, h("div", { class: "rep-panel" }, h("h2", {}, "Reps"), reps.length ? repList : h("p", {}, "No reps were counted in this clip."))));

  if (focusRep != null) {
    const row = rows[reps.findIndex((r) => r.index === focusRep)];
    if (row) {
      row.classList.add("focused");
      row.scrollIntoView({ block: "center" });
    }
  }
}

function summaryBlock(a, report) {
  const items = [];
  const ex = report.exercise || {};
  if (ex.recognized || a.exercise) {
    items.push(h("li", {}, `Exercise: ${exerciseLabel(ex.recognized || a.exercise)}${ex.reason ? ` (${ex.reason})` : ""}`));
  }
  items.push(h("li", {}, `${countsText(a)}`));
  const depth = depthMean(a) ?? (report.summary || {}).trunk_incline_max_deg_mean;
  if (isNumber(depth)) items.push(h("li", {}, `Mean depth: ${num(depth)}° trunk lean`));
  const v = report.view || {};
  const quality = v.quality || {};
  if (v.view || quality.verdict) {
    items.push(h("li", {}, `Camera: ${v.view || "unknown"} view, capture quality ${quality.verdict || "unknown"}`));
  }
  const notes = [...(quality.reasons || []), ...(quality.tips || []), ...(report.warnings || [])].filter((x) => typeof x === "string");
  return h(
    "section",
    { class: "card summary", "aria-label": "Summary" },
    h("ul", { class: "summary-list" }, items),
    notes.length ? h("ul", { class: "notes" }, notes.map((n) => h("li", {}, n))) : null,
  );
}

function repRow(a, rep, reviews, playFrom) {
  const m = rep.metrics || {};
  const faults = rep.faults || [];
  const flagged = faults.length > 0;
  const judged = rep.judgeable !== false;
  const notJudgedChecks = Object.entries(rep.checks || {}).filter(([, c]) => c && c.status === "not_judged");

  const tempo = [
    isNumber(m.descent_s) ? `down ${seconds(m.descent_s)}` : null,
    isNumber(m.ascent_s) ? `up ${seconds(m.ascent_s)}` : null,
    isNumber(m.lockout_hold_s) ? `hold ${seconds(m.lockout_hold_s)}` : null,
    isNumber(m.rep_s) ? `rep ${seconds(m.rep_s)}` : null,
  ].filter(Boolean);

  const seek = h(
    "button",
    { type: "button", class: "rep-seek", "aria-label": `Play rep ${rep.index} from ${seconds(rep.start_s)}` },
    h("span", { class: "rep-name" }, `Rep ${rep.index}`),
    h("span", { class: "rep-time" }, `${seconds(rep.start_s)} – ${seconds(rep.end_s)}`),
    flagged ? h("span", { class: "badge badge-flagged" }, `flagged: ${faults.map((f) => faultLabel(f.code)).join(", ")}`) : null,
    !judged ? h("span", { class: "badge badge-notjudged" }, "not judged") : null,
    judged && !flagged && notJudgedChecks.length
      ? h("span", { class: "badge badge-notjudged" }, `no flags; ${notJudgedChecks.length} check${notJudgedChecks.length === 1 ? "" : "s"} not judged`)
      : null,
    judged && !flagged && !notJudgedChecks.length ? h("span", { class: "badge badge-ok" }, "good") : null,
  );

  const faultBlocks = faults.map((f) => {
    const key = `${rep.index}:${f.code}`;
    const reviewSlot = h("div", {}, reviewView(reviews.get(key)));
    return h(
      "div",
      { class: "fault", dataset: { code: f.code } },
      h("p", { class: "fault-line" }, h("span", { class: "flag-mark", "aria-hidden": "true" }, "⚑ "), h("strong", {}, faultLabel(f.code)), `: ${faultFigures(f)}`),
      h("p", { class: "muted small" }, `severity ${Math.round(100 * (f.severity || 0))}%, confidence ${Math.round(100 * (f.confidence || 0))}%, worst at ${seconds(f.worst_t)}`),
      reviewSlot,
      me.role === "coach"
        ? reviewForm(a.id, rep.index, f.code, reviews.get(key), (review) => {
            reviews.set(key, review);
            reviewSlot.replaceChildren(reviewView(review));
          })
        : null,
    );
  });

  const row = h(
    "li",
    { class: `rep${flagged ? " flagged" : ""}${judged && !notJudgedChecks.length ? "" : " not-judged"}`, dataset: { rep: String(rep.index), start: String(rep.start_s) } },
    seek,
    h(
      "p",
      { class: "rep-metrics" },
      `Depth ${withUnit(m.trunk_incline_max_deg, "deg")}`,
      tempo.length ? ` · ${tempo.join(" · ")}` : "",
    ),
    rep.cues && rep.cues.length ? h("ul", { class: "cues", "aria-label": "Cues" }, rep.cues.map((c) => h("li", {}, c))) : null,
    faultBlocks,
    !judged ? h("p", { class: "not-judged-reason" }, `Not judged: ${rep.not_judged_reason || "the footage could not support a judgement"}`) : null,
    notJudgedChecks.length
      ? h(
          "details",
          { class: "not-judged-checks" },
          h("summary", {}, `${notJudgedChecks.length} check${notJudgedChecks.length === 1 ? "" : "s"} not judged`),
          h("ul", {}, notJudgedChecks.map(([code, c]) => h("li", {}, `${faultLabel(code)}: ${c.reason || "not enough evidence"}`))),
        )
      : null,
  );
  // The whole row seeks, except clicks inside the review form or the not-judged details.
  row.addEventListener("click", (event) => {
    if (event.target.closest("textarea, input, select, .review-form, details, a")) return;
    playFrom(rep.start_s);
  });
  return row;
}

// ---------------------------------------------------------------------------------------------------
// Start

function wireOnce() {
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("token").value.trim();
    if (!value) {
      $("sign-in-error").textContent = "Paste your token first.";
      $("sign-in-error").hidden = false;
      return;
    }
    signIn(value);
  });
  $("sign-out").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    clearMessage();
    render();
  });
  window.addEventListener("unhandledrejection", (event) => {
    showMessage(errorText(event.reason));
  });
}

async function start() {
  const saved = token.get();
  if (!saved) return showSignIn("");
  try {
    me = await api.me();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return; // the 401 handler already showed sign-in
    showMessage(errorText(error), { retry: () => start() });
    return;
  }
  clearMessage();
  $("sign-in").hidden = true;
  $("who").hidden = false;
  $("who-name").textContent = `${me.name} (${me.role})`;
  render();
}

wireOnce();
start();
