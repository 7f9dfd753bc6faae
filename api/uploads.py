"""Receive one multipart upload straight to a temp file, enforcing the size limit while streaming.

Nothing of a rejected upload survives: the temp file is removed on every error path, and the caller
moves it into place only after the clip passed ``probe``. The client's filename is only ever shown,
never used to build a path.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from api.errors import ApiError

FILE_FIELD = "file"
MAX_FIELD_BYTES = 10_000
MULTIPART_OVERHEAD_BYTES = 64_000  # headers and the small option fields around the clip
ALLOWED_TYPES = ("video/", "application/octet-stream")
_UNSAFE = re.compile(r"[^\w.() +-]+")


def sanitize_filename(name: str, fallback: str = "upload") -> str:
    """A display-safe basename: no folders, no control or odd characters, no leading dots, <= 120 chars.

    ``"../../etc/passwd"`` -> ``"passwd"``; ``"a/b\\\\c.mp4"`` -> ``"c.mp4"``.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" .")
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else name[:120]
    return name or fallback


@dataclass
class ReceivedUpload:
    """The clip on disk under the incoming folder plus the form's other fields (as text)."""

    temp_path: Path
    filename: str
    content_type: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()


def _too_large(max_bytes: int) -> ApiError:
    return ApiError(413, f"The upload is larger than the {max_bytes / 1e6:g} MB limit; trim or compress the clip.",
                    "too_large")


class _Receiver:
    """python-multipart callbacks; problems are recorded and raised between parser writes."""

    def __init__(self, incoming: Path, max_bytes: int) -> None:
        self.incoming, self.max_bytes = incoming, max_bytes
        self.fields: dict[str, str] = {}
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.part_name = ""
        self.part_is_file = False
        self.field_data = bytearray()
        self.pending: list[bytes] = []
        self.error: ApiError | None = None
        self.handle: IO[bytes] | None = None
        self.path: Path | None = None
        self.filename = ""
        self.content_type = ""
        self.size = 0
        self.files_seen = 0

    def on_part_begin(self) -> None:
        self.headers, self.part_name, self.part_is_file = {}, "", False
        self.field_data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        self.part_name = options.get(b"name", b"").decode("utf-8", "replace")
        self.part_is_file = b"filename" in options
        if not self.part_is_file or self.error:
            return
        self.files_seen += 1
        if self.part_name != FILE_FIELD or self.files_seen > 1:
            self.error = ApiError(422, f"Send exactly one clip, in the form field '{FILE_FIELD}'.", "invalid_request")
            return
        content_type = self.headers.get(b"content-type", b"application/octet-stream").decode("latin-1").strip()
        if not content_type.lower().startswith(ALLOWED_TYPES):
            self.error = ApiError(
                415, f"A {content_type or 'typeless'} file is not a video; upload a video (video/* content type).",
                "unsupported_media_type")
            return
        self.content_type = content_type
        self.filename = sanitize_filename(options.get(b"filename", b"").decode("utf-8", "replace"))
        fd, name = tempfile.mkstemp(prefix="upload-", suffix=".part", dir=self.incoming)
        self.path = Path(name)
        self.handle = os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error:
            return
        if self.part_is_file:
            self.pending.append(data[start:end])
            return
        self.field_data += data[start:end]
        if len(self.field_data) > MAX_FIELD_BYTES:
            self.error = ApiError(422, f"The form field '{self.part_name}' is too long.", "invalid_request")

    def on_part_end(self) -> None:
        if not self.part_is_file and not self.error:
            self.fields[self.part_name] = self.field_data.decode("utf-8", "replace")

    def flush(self) -> None:
        """Write buffered clip bytes; raise the first recorded problem (413 as soon as the limit is passed)."""
        if self.error:
            raise self.error
        for chunk in self.pending:
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise _too_large(self.max_bytes)
            assert self.handle is not None
            self.handle.write(chunk)
        self.pending.clear()

    def close(self, keep: bool) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        if not keep and self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


async def receive_upload(request: Request, incoming: Path, max_bytes: int) -> ReceivedUpload:
    """Stream the request body into ``incoming``; raises ApiError (413/415/422) leaving nothing behind."""
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data" or b"boundary" not in params:
        raise ApiError(415, "Send the clip as multipart/form-data with the video in the 'file' field.",
                       "unsupported_media_type")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + MULTIPART_OVERHEAD_BYTES:
        raise _too_large(max_bytes)
    receiver = _Receiver(incoming, max_bytes)
    parser = MultipartParser(params[b"boundary"], {  # type: ignore[arg-type]
        "on_part_begin": receiver.on_part_begin, "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end, "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value, "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
    })
    keep = False
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            receiver.flush()
        parser.finalize()
        receiver.flush()
        if receiver.path is None:
            raise ApiError(422, f"No clip was sent; put the video in the form field '{FILE_FIELD}'.",
                           "invalid_request")
        keep = True
    except ClientDisconnect:
        raise
    except ApiError:
        raise
    except Exception as exc:  # python-multipart's parse errors
        raise ApiError(422, "The upload is not valid multipart/form-data; send it again.", "invalid_request") from exc
    finally:
        receiver.close(keep)
    assert receiver.path is not None
    return ReceivedUpload(receiver.path, receiver.filename, receiver.content_type, receiver.size, receiver.fields)
