"""The one exception tree. Each error carries the CLI exit code and HTTP status it maps to.

Messages are one line, say what is wrong and what to do; they are shown to users as they are.
"""

from __future__ import annotations


class AnalyzerError(Exception):
    """Base of every error the analyzer raises on purpose."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputNotFoundError(AnalyzerError):
    """The clip path does not exist or cannot be read."""

    exit_code = 3
    http_status = 400


class NotAVideoError(AnalyzerError):
    """The file is readable but holds no video (text, a still image, audio only)."""

    exit_code = 4
    http_status = 415


class VideoDecodeError(AnalyzerError):
    """The file claims to be a video but no frame can be decoded (truncated, corrupt)."""

    exit_code = 4
    http_status = 422


class EmptyVideoError(VideoDecodeError):
    """The video stream holds zero frames."""


class LimitExceededError(AnalyzerError):
    """The clip is longer or larger than the configured limits."""

    exit_code = 5
    http_status = 413


class NoPersonError(AnalyzerError):
    """Nobody was found in any frame."""

    exit_code = 6
    http_status = 422


class UnsupportedViewError(AnalyzerError):
    """The camera view does not allow the requested analysis."""

    exit_code = 6
    http_status = 422


class OutputError(AnalyzerError):
    """The output folder cannot be created or written."""

    exit_code = 7
    http_status = 500


class ModelError(AnalyzerError):
    """The pose model bundle is missing, unreadable or fails its checksum."""

    exit_code = 8
    http_status = 500


class ConfigError(AnalyzerError):
    """A setting or rule table is invalid."""

    exit_code = 2
    http_status = 400
