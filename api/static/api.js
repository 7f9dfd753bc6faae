// Talking to the hinge API: the bearer token, JSON requests, the upload with progress, and media as blobs.
// Every failure becomes an ApiError whose message is one plain sentence fit to show a person.

const TOKEN_KEY = "hinge.token";

export class ApiError extends Error {
  /**
   * @param {string} message plain sentence for the page
   * @param {number} status HTTP status (0 when the server was never reached)
   * @param {string} code the API's snake_case error code, or a local one ("network", "http_error")
   */
  constructor(message, status, code) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

export const token = {
  get: () => localStorage.getItem(TOKEN_KEY) || "",
  set: (value) => localStorage.setItem(TOKEN_KEY, value),
  clear: () => localStorage.removeItem(TOKEN_KEY),
};

let onUnauthorized = () => {};

/** Called with the ApiError whenever the server answers 401 (token unknown or missing). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

const FALLBACK_BY_STATUS = {
  400: "The request was not understood. Check the form and try again.",
  401: "Your token was not accepted. Sign in again with a valid token.",
  403: "Your account is not allowed to do that.",
  404: "Not found: it may have been removed, or it belongs to another account.",
  409: "That is not ready yet. Wait for the analysis to finish.",
  413: "That file is too large to upload. Trim the clip and try again.",
  415: "That file type is not accepted. Choose a video file.",
  422: "The server could not use what was sent. Check the file and the options.",
};

/** One readable sentence from an error response body, whatever shape it has. */
export function messageFromResponse(status, bodyText) {
  let body = null;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = null;
  }
  let detail = body && typeof body === "object" ? body.detail : null;
  const code = (body && typeof body.code === "string" && body.code) || "http_error";
  if (Array.isArray(detail)) {
    // FastAPI's own validation errors: a list of {loc, msg}
    detail = detail
      .map((d) => (d && typeof d.msg === "string" ? `${(d.loc || []).slice(-1)[0] || "input"}: ${d.msg}` : ""))
      .filter(Boolean)
      .join("; ");
  }
  if (typeof detail !== "string" || !detail.trim()) {
    detail =
      FALLBACK_BY_STATUS[status] ||
      (status >= 500
        ? `The server hit a problem (HTTP ${status}). Try again in a moment.`
        : `The request failed (HTTP ${status}).`);
  }
  return { message: detail.trim(), code };
}

function authHeaders() {
  const value = token.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(path, { ...init, headers: { ...authHeaders(), ...(init.headers || {}) } });
  } catch {
    throw new ApiError("Could not reach the server. Check your connection and try again.", 0, "network");
  }
  if (!response.ok) {
    const { message, code } = messageFromResponse(response.status, await response.text().catch(() => ""));
    const error = new ApiError(message, response.status, code);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  return response;
}

/** GET/PUT/POST a JSON endpoint; resolves to the parsed body. */
export async function requestJson(path, { method = "GET", body } = {}) {
  const init = { method, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await send(path, init);
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    throw new ApiError("The server sent an answer this page could not read.", response.status, "bad_json");
  }
}

/**
 * Fetch media that needs the token (video, thumbnails) and hand back an object URL.
 * A <video> or <img> cannot send an Authorization header, so the bytes come through fetch.
 * The caller revokes the URL (URL.revokeObjectURL) when the element goes away.
 */
export async function fetchObjectUrl(path) {
  const response = await send(path, { method: "GET" });
  const blob = await response.blob();
  return URL.createObjectURL(blob);
}

/**
 * POST /analyses with XMLHttpRequest, because fetch reports no upload progress.
 * @param {FormData} form file, exercise, height_m, athlete_id
 * @param {(loaded: number, total: number) => void} onProgress bytes sent so far and in all
 * @returns {Promise<object>} the AnalysisSummary (status "queued")
 */
export function uploadAnalysis(form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/analyses");
    const headers = authHeaders();
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded, event.total);
    };
    xhr.upload.onload = (event) => {
      if (event.lengthComputable) onProgress(event.total, event.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText));
        } catch {
          reject(new ApiError("The server sent an answer this page could not read.", xhr.status, "bad_json"));
        }
        return;
      }
      const { message, code } = messageFromResponse(xhr.status, xhr.responseText);
      const error = new ApiError(message, xhr.status, code);
      if (xhr.status === 401) onUnauthorized(error);
      reject(error);
    };
    // A server that refuses an oversize upload may close the connection before answering.
    xhr.onerror = () =>
      reject(
        new ApiError(
          "The upload was cut off before the server answered. Check your connection; if the clip is long, trim it and try again.",
          0,
          "network",
        ),
      );
    xhr.onabort = () => reject(new ApiError("The upload was cancelled.", 0, "aborted"));
    xhr.send(form);
  });
}

export const api = {
  me: () => requestJson("/me"),
  analyses: (athleteId) =>
    requestJson(athleteId == null ? "/analyses" : `/analyses?athlete_id=${encodeURIComponent(athleteId)}`),
  analysis: (id) => requestJson(`/analyses/${encodeURIComponent(id)}`),
  queue: (status = "pending") => requestJson(`/review/queue?status=${encodeURIComponent(status)}`),
  review: (analysisId, repIndex, code, decision, comment) =>
    requestJson(
      `/analyses/${encodeURIComponent(analysisId)}/reps/${encodeURIComponent(repIndex)}/faults/${encodeURIComponent(code)}/review`,
      { method: "PUT", body: { decision, comment } },
    ),
};
