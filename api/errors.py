"""Every API error as JSON ``{"detail": "<one sentence>", "code": "<snake_case>"}``, mapped in one place.

AnalyzerError subclasses bring their own ``http_status``; HTTPException and request validation get a
code from their status; anything unexpected is a 500 with a generic message (traceback logged only).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from analyzer.errors import AnalyzerError

log = logging.getLogger("hinge.api")

STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "not_ready", 413: "too_large", 415: "unsupported_media_type", 416: "range_not_satisfiable",
    422: "invalid_request", 500: "internal_error",
}


class ApiError(HTTPException):
    """An HTTP error with its machine-readable code."""

    def __init__(self, status_code: int, detail: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code or STATUS_CODES.get(status_code, "error")


def error_code_of(exc: AnalyzerError) -> str:
    """NotAVideoError -> 'not_a_video'."""
    name = type(exc).__name__.removesuffix("Error") or "analyzer"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _body(detail: str, code: str) -> dict[str, str]:
    return {"detail": detail, "code": code}


def _validation_sentence(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = str(first.get("msg", "is not valid")).rstrip(".")
    return f"{where}: {message}." if where else f"{message}."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or STATUS_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else "The request could not be handled."
        if exc.status_code == 404 and detail == "Not Found":
            detail = "No such page; see /docs for the API."
        return JSONResponse(_body(detail, code), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_body(_validation_sentence(list(exc.errors())), "invalid_request"), status_code=422)

    @app.exception_handler(AnalyzerError)
    async def analyzer_error(_: Request, exc: AnalyzerError) -> JSONResponse:
        return JSONResponse(_body(exc.message, error_code_of(exc)), status_code=exc.http_status)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(_body("Something went wrong on the server; try again, and report it if it persists.",
                                  "internal_error"), status_code=500)
