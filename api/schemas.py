"""Response and request bodies of the HTTP contract (pydantic), so /docs and /openapi.json describe them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

Exercise = Literal["auto", "deadlift", "rdl", "good_morning", "kb_swing"]
Status = Literal["queued", "running", "done", "failed"]


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, milliseconds."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ErrorBody(BaseModel):
    detail: str = Field(description="one plain sentence saying what to do")
    code: str = Field(description="snake_case error code")


class UserRef(BaseModel):
    id: int
    name: str


class Me(BaseModel):
    id: int
    name: str
    role: Literal["athlete", "coach"]
    athletes: list[UserRef] = Field(description="a coach's linked athletes; [] for an athlete")


class AnalysisOptions(BaseModel):
    exercise: Exercise = "auto"
    height_m: float | None = Field(None, ge=1.0, le=2.5, description="lifter height, metres")


class Metrics(BaseModel):
    """Set-level figures for the history trend plot, from the report's summary."""

    depth_mean_deg: float | None = Field(None, description="mean peak trunk inclination, degrees")
    depth_cv: float | None = Field(None, description="rep-to-rep coefficient of variation of depth")
    tempo_cv: float | None = Field(None, description="mean of the descent and ascent duration CVs")
    velocity_loss: float | None = Field(None, description="1 - last rep's peak bar speed / the set's best")


class AnalysisSummary(BaseModel):
    id: str
    athlete: UserRef
    filename: str
    status: Status
    progress: float = Field(description="0..100")
    stage: str | None
    error: str | None
    created_at: str
    finished_at: str | None
    options: AnalysisOptions
    exercise: str | None
    rep_count: int | None
    flagged_rep_count: int | None
    metrics: Metrics | None


class AnalysisList(BaseModel):
    analyses: list[AnalysisSummary]


class ReviewIn(BaseModel):
    decision: Literal["confirmed", "dismissed"]
    comment: str = Field("", max_length=2000)


class Review(BaseModel):
    rep_index: int
    code: str
    decision: str
    comment: str
    coach: UserRef
    updated_at: str


class AnalysisDetail(AnalysisSummary):
    report: dict[str, Any] | None = Field(description="the analyzer's report.json; null until done")
    video_url: str | None
    reviews: list[Review]


class QueueItem(BaseModel):
    analysis_id: str
    athlete: UserRef
    rep_index: int
    fault: dict[str, Any] = Field(description="code, severity, confidence, worst_t, measured, threshold, unit")
    cue: str | None
    thumbnail_url: str
    review: Review | None
    analysis_created_at: str


class Queue(BaseModel):
    items: list[QueueItem]


class Health(BaseModel):
    ok: bool
