"""The FastAPI app: ``create_app(settings, runner=...)``. Routes follow the HTTP contract (issue 5).

Requests never analyse anything: an upload is stored, a job row queued, and the dispatcher in
``api.jobs`` hands it to a worker process. Another account's analysis answers 404, so ids don't leak.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from analyzer import __version__
from analyzer.errors import AnalyzerError, LimitExceededError
from api import schemas
from api.accounts import linked_athletes, visible_athlete_ids
from api.auth import CurrentCoach, CurrentUser, DbSession
from api.db import Analysis, Review, User, get_sessionmaker, new_id, utcnow
from api.errors import ApiError, install_error_handlers
from api.jobs import JobService, Runner, analyze_clip
from api.media import thumbnail, worst_moment_s
from api.settings import Settings
from api.uploads import receive_upload

STATIC_DIR = Path(__file__).resolve().parent / "static"
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody} for status in (401, 403, 404, 409, 413, 415, 422)
}
_PLACEHOLDER = ("<!doctype html><meta charset=utf-8><title>hinge</title>"
                "<p>The web page is not installed; the API is documented at <a href=/docs>/docs</a>.</p>")


class UploadForm(BaseModel):
    """The upload's option fields (multipart text fields)."""

    model_config = ConfigDict(extra="ignore")

    exercise: schemas.Exercise = "auto"
    height_m: float | None = Field(None, ge=1.0, le=2.5)
    athlete_id: int | None = None


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {
                "file": {"type": "string", "format": "binary",
                         "description": "the clip (video/* or application/octet-stream); streamed, size-limited"},
                "exercise": {"type": "string", "enum": ["auto", "deadlift", "rdl", "good_morning", "kb_swing"],
                             "default": "auto"},
                "height_m": {"type": "number", "minimum": 1.0, "maximum": 2.5,
                             "description": "lifter height, metres (bar speed in m/s)"},
                "athlete_id": {"type": "integer", "description": "coach only: which linked athlete the clip is of"},
            },
        }}},
    }
}

_CONTAINER_SUFFIX = {"mp4": ".mp4", "mov": ".mov", "matroska": ".mkv", "webm": ".webm", "avi": ".avi", "gif": ".gif"}


def _stored_suffix(container: str) -> str:
    """File suffix for the stored clip, from what FFmpeg found inside (never from the client's name)."""
    names = container.split(",")
    for name, suffix in _CONTAINER_SUFFIX.items():
        if name in names:
            return suffix
    return ".video"


# --- serialisation -----------------------------------------------------------------------------------


def _ref(user: User) -> schemas.UserRef:
    return schemas.UserRef(id=user.id, name=user.name)


def summary_of(job: Analysis) -> dict[str, Any]:
    options = job.options or {}
    return {
        "id": job.id, "athlete": _ref(job.athlete), "filename": job.filename, "status": job.status,
        "progress": float(job.progress or 0.0), "stage": job.stage, "error": job.error,
        "created_at": schemas.iso(job.created_at), "finished_at": schemas.iso(job.finished_at),
        "options": {"exercise": options.get("exercise", "auto"), "height_m": options.get("height_m")},
        "exercise": job.exercise, "rep_count": job.rep_count, "flagged_rep_count": job.flagged_rep_count,
        "metrics": job.metrics,
    }


def review_of(review: Review) -> schemas.Review:
    return schemas.Review(rep_index=review.rep_index, code=review.code, decision=review.decision,
                          comment=review.comment, coach=_ref(review.coach), updated_at=schemas.iso(review.updated_at)
                          or "")


def _not_found() -> ApiError:
    return ApiError(404, "No analysis with that id among yours; check the id.", "not_found")


def visible_analysis(session: Session, user: User, analysis_id: str) -> Analysis:
    """The analysis if this user may see it; 404 otherwise (also for other accounts' ids)."""
    job = session.get(Analysis, analysis_id) if len(analysis_id) <= 64 else None
    if job is None or job.athlete_id not in visible_athlete_ids(session, user):
        raise _not_found()
    return job


def _require_done(job: Analysis) -> None:
    if job.status != "done":
        raise ApiError(409, f"The analysis is {job.status}, not done yet; try again when it has finished.",
                       "not_ready")


def _load_report(job: Analysis) -> dict[str, Any]:
    try:
        report: dict[str, Any] = json.loads((Path(job.output_dir) / "report.json").read_text())
    except (OSError, ValueError) as exc:
        raise ApiError(404, "This analysis' report is missing on the server; upload the clip again.",
                       "report_missing") from exc
    return report


def _rep_of(report: dict[str, Any], index: int) -> dict[str, Any]:
    for rep in report.get("reps", []):
        if rep.get("index") == index:
            return dict(rep)
    raise ApiError(404, f"This analysis has no rep {index}; reps count from 1.", "not_found")


def _warm_up() -> None:
    """Load PyAV now rather than inside the first upload (its import takes seconds on a busy machine)."""
    import av  # noqa: F401


def _check_range(header: str | None, size: int) -> None:
    """416 as JSON when no byte range of a Range header starts inside the file (FileResponse serves the rest)."""
    if not header:
        return
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes":
        return  # malformed: FileResponse answers 400
    for part in ranges.split(","):
        start, _, end = part.strip().partition("-")
        if (start.isdigit() and int(start) < size) or (not start and end.isdigit() and int(end) > 0 and size > 0):
            return
    raise ApiError(416, f"That byte range is outside the video ({size} bytes); request bytes=0-{max(size - 1, 0)}.",
                   "range_not_satisfiable", headers={"Content-Range": f"bytes */{size}"})


# --- the app -----------------------------------------------------------------------------------------


def create_app(settings: Settings | None = None, *, runner: Runner = analyze_clip) -> FastAPI:
    """The service app. ``runner`` analyses one clip in a worker process (tests inject a fast fake)."""
    settings = settings or Settings()
    settings.make_dirs()
    jobs = JobService(settings, runner)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for leftover in settings.incoming_dir.glob("*.part"):  # uploads cut off by a crash
            leftover.unlink(missing_ok=True)
        await run_in_threadpool(_warm_up)
        jobs.start()
        try:
            yield
        finally:
            await run_in_threadpool(jobs.stop)

    app = FastAPI(
        title="hinge", version=__version__, lifespan=lifespan,
        description="Hip-hinge form analysis: upload a clip, follow the job, read per-rep faults and cues, "
                    "watch the annotated video; coaches review the flagged reps of their athletes.",
    )
    app.state.settings = settings
    app.state.sessions = get_sessionmaker(settings.db_url)
    app.state.jobs = jobs
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.get("/", include_in_schema=False, response_model=None)
    def index() -> FileResponse | HTMLResponse:
        page = STATIC_DIR / "index.html"
        return FileResponse(page, media_type="text/html") if page.is_file() else HTMLResponse(_PLACEHOLDER)

    @app.get("/healthz", response_model=schemas.Health, tags=["service"])
    def healthz() -> schemas.Health:
        return schemas.Health(ok=True)

    @app.get("/me", response_model=schemas.Me, responses=ERROR_RESPONSES, tags=["accounts"])
    def me(user: CurrentUser, session: DbSession) -> schemas.Me:
        athletes = [_ref(a) for a in linked_athletes(session, user.id)] if user.role == "coach" else []
        return schemas.Me(id=user.id, name=user.name, role=user.role, athletes=athletes)  # type: ignore[arg-type]

    @app.post("/analyses", status_code=202, response_model=schemas.AnalysisSummary, responses=ERROR_RESPONSES,
              openapi_extra=UPLOAD_BODY, tags=["analyses"])
    async def upload(request: Request, user: CurrentUser) -> dict[str, Any]:
        """Upload a clip (multipart, streamed to disk with a size limit); the analysis is queued (202)."""
        received = await receive_upload(request, settings.incoming_dir, settings.max_upload_bytes)
        try:
            try:
                # an empty field (a blank form input) means "not given", as in an HTML form
                form = UploadForm.model_validate({k: v for k, v in received.fields.items() if v.strip()})
            except ValidationError as exc:
                error = exc.errors()[0]
                where = ".".join(str(p) for p in error["loc"])
                raise ApiError(422, f"{where}: {error['msg']}.", "invalid_option") from exc
            if received.size == 0:
                raise ApiError(422, f"{received.filename}: the file is empty (0 bytes); upload the clip again.",
                               "empty_file")
            try:
                info = await run_in_threadpool(_probe, received.temp_path, settings)
            except LimitExceededError as exc:
                raise ApiError(413, exc.message.replace(received.temp_path.name, received.filename),
                               "too_large") from exc
            except AnalyzerError as exc:
                reason = exc.message.replace(received.temp_path.name, received.filename)
                raise ApiError(422, f"{reason}. Upload the original video file, as the phone's camera saved it.",
                               "not_a_video") from exc
            return await run_in_threadpool(_store, user.id, form, received.temp_path, received.filename,
                                           info.container)
        finally:
            received.discard()  # no-op once the clip was moved into place

    def _probe(path: Path, settings: Settings) -> Any:
        from analyzer.video import probe

        return probe(path, settings.video_limits)

    def _store(user_id: int, form: UploadForm, temp: Path, filename: str, container: str) -> dict[str, Any]:
        with app.state.sessions() as session:
            user = session.get(User, user_id)
            assert user is not None
            athlete_id = _upload_athlete(session, user, form.athlete_id)
            job_id = new_id()
            folder = settings.uploads_dir / job_id
            folder.mkdir(parents=True)
            clip = folder / f"clip{_stored_suffix(container)}"
            try:
                os.replace(temp, clip)
                job = Analysis(id=job_id, athlete_id=athlete_id, uploaded_by=user.id, filename=filename,
                               clip_path=str(clip.resolve()), output_dir=str((settings.outputs_dir / job_id).resolve()),
                               options={"exercise": form.exercise, "height_m": form.height_m}, status="queued",
                               progress=0.0, stage="queued", created_at=utcnow())
                session.add(job)
                session.commit()
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            session.refresh(job)
            result = summary_of(job)
        jobs.notify()
        return result

    def _upload_athlete(session: Session, user: User, athlete_id: int | None) -> int:
        if user.role == "athlete":
            if athlete_id not in (None, user.id):
                raise ApiError(403, "Athletes upload only their own clips; leave athlete_id out.", "forbidden")
            return user.id
        if athlete_id is None:
            raise ApiError(422, "athlete_id: a coach must say which linked athlete the clip is of.",
                           "invalid_option")
        if athlete_id not in visible_athlete_ids(session, user):
            raise ApiError(403, "That athlete is not linked to you; ask for 'hinge users link'.", "forbidden")
        return athlete_id

    @app.get("/analyses", response_model=schemas.AnalysisList, responses=ERROR_RESPONSES, tags=["analyses"])
    def list_analyses(user: CurrentUser, session: DbSession,
                      athlete_id: Annotated[int | None, Query(description="one athlete only")] = None
                      ) -> dict[str, Any]:
        """The caller's analyses (an athlete's own; a coach's linked athletes'), newest first."""
        allowed = visible_athlete_ids(session, user)
        if athlete_id is not None:
            if athlete_id not in allowed:
                raise ApiError(404, "No such athlete among yours; check athlete_id.", "not_found")
            allowed = {athlete_id}
        rows = session.scalars(select(Analysis).where(Analysis.athlete_id.in_(allowed))
                               .order_by(Analysis.created_at.desc(), Analysis.id))
        return {"analyses": [summary_of(job) for job in rows]}

    @app.get("/analyses/{analysis_id}", response_model=schemas.AnalysisDetail, responses=ERROR_RESPONSES,
             tags=["analyses"])
    def get_analysis(analysis_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
        """Status and progress; the report, video link and coach reviews once done."""
        job = visible_analysis(session, user, analysis_id)
        done = job.status == "done"
        reviews = session.scalars(select(Review).where(Review.analysis_id == job.id)
                                  .order_by(Review.rep_index, Review.code))
        return {**summary_of(job), "report": _load_report(job) if done else None,
                "video_url": f"/analyses/{job.id}/video" if done else None,
                "reviews": [review_of(r) for r in reviews]}

    @app.get("/analyses/{analysis_id}/video", response_class=FileResponse, tags=["analyses"],
             responses={**ERROR_RESPONSES, 200: {"content": {"video/mp4": {}}}, 206: {"description": "a byte range"}})
    def video(analysis_id: str, request: Request, user: CurrentUser, session: DbSession) -> FileResponse:
        """The annotated H.264 video; honours Range requests (206)."""
        job = visible_analysis(session, user, analysis_id)
        _require_done(job)
        path = Path(job.output_dir) / "annotated.mp4"
        if not path.is_file():
            raise ApiError(404, "This analysis has no annotated video.", "not_found")
        _check_range(request.headers.get("range"), path.stat().st_size)
        return FileResponse(path, media_type="video/mp4")

    @app.get("/analyses/{analysis_id}/reps/{index}/thumbnail", response_class=FileResponse, tags=["analyses"],
             responses={**ERROR_RESPONSES, 200: {"content": {"image/jpeg": {}}}})
    def rep_thumbnail(analysis_id: str, index: int, user: CurrentUser, session: DbSession) -> FileResponse:
        """A JPEG of the annotated video at the rep's worst moment."""
        job = visible_analysis(session, user, analysis_id)
        _require_done(job)
        rep = _rep_of(_load_report(job), index)
        video_path = Path(job.output_dir) / "annotated.mp4"
        if not video_path.is_file():
            raise ApiError(404, "This analysis has no annotated video to take a thumbnail from.", "not_found")
        cached = thumbnail(video_path, worst_moment_s(rep), settings.thumbs_dir / job.id / f"rep{index}.jpg")
        return FileResponse(cached, media_type="image/jpeg")

    @app.get("/review/queue", response_model=schemas.Queue, responses=ERROR_RESPONSES, tags=["review"])
    def review_queue(coach: CurrentCoach, session: DbSession,
                     status: Annotated[Literal["pending", "all"], Query()] = "pending") -> dict[str, Any]:
        """Flagged reps across the coach's athletes: pending (no review yet) by default, newest first."""
        athletes = visible_athlete_ids(session, coach)
        jobs_done = list(session.scalars(
            select(Analysis).where(Analysis.athlete_id.in_(athletes), Analysis.status == "done")
            .order_by(Analysis.created_at.desc(), Analysis.id)))
        reviews = {(r.analysis_id, r.rep_index, r.code): r for r in session.scalars(
            select(Review).where(Review.analysis_id.in_([j.id for j in jobs_done])))}
        items = []
        for job in jobs_done:
            for flag in job.flags or []:
                code = flag["fault"].get("code")
                review = reviews.get((job.id, flag["rep_index"], code))
                if status == "pending" and review is not None:
                    continue
                items.append({
                    "analysis_id": job.id, "athlete": _ref(job.athlete), "rep_index": flag["rep_index"],
                    "fault": flag["fault"], "cue": flag.get("cue"),
                    "thumbnail_url": f"/analyses/{job.id}/reps/{flag['rep_index']}/thumbnail",
                    "review": review_of(review) if review else None,
                    "analysis_created_at": schemas.iso(job.created_at),
                })
        return {"items": items}

    @app.put("/analyses/{analysis_id}/reps/{index}/faults/{code}/review", response_model=schemas.Review,
             responses=ERROR_RESPONSES, tags=["review"])
    def put_review(analysis_id: str, index: int, code: str, body: schemas.ReviewIn, coach: CurrentCoach,
                   session: DbSession) -> schemas.Review:
        """Confirm or dismiss one flagged fault of one rep, with a comment; PUT again overwrites."""
        job = visible_analysis(session, coach, analysis_id)
        _require_done(job)
        if not any(f["rep_index"] == index and f["fault"].get("code") == code for f in job.flags or []):
            raise ApiError(404, f"Rep {index} of this analysis has no '{code}' flag to review.", "not_found")
        for _ in range(2):  # a concurrent first PUT may insert the row between our read and write
            review = session.scalar(select(Review).where(Review.analysis_id == job.id, Review.rep_index == index,
                                                         Review.code == code))
            if review is None:
                review = Review(analysis_id=job.id, rep_index=index, code=code)
                session.add(review)
            review.decision, review.comment = body.decision, body.comment
            review.coach_id, review.updated_at = coach.id, utcnow()
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            session.refresh(review)
            return review_of(review)
        raise ApiError(409, "Another review of this flag was saved at the same moment; send it again.", "conflict")

    return app
