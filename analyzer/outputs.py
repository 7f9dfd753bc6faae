"""All-or-nothing output folders: files are written to a staging folder and moved in at the end.

A failed run leaves OUTDIR as it was (and removes OUTDIR itself if the run created it), so a user
never finds a half-written report or video.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from analyzer.errors import OutputError


class StagedOutput:
    """Context manager: ``stage / name`` for writing, ``commit()`` moves everything into ``outdir``."""

    def __init__(self, outdir: Path | str) -> None:
        self.outdir = Path(outdir)
        self._created = False
        self.stage = Path()

    def __enter__(self) -> StagedOutput:
        if self.outdir.exists() and not self.outdir.is_dir():
            raise OutputError(f"{self.outdir}: exists and is not a folder; choose another -o")
        if not self.outdir.exists():
            try:
                self.outdir.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(f"{self.outdir}: cannot create the output folder ({exc.strerror})") from exc
            self._created = True
        if not os.access(self.outdir, os.W_OK | os.X_OK):
            raise OutputError(f"{self.outdir}: the output folder is not writable; choose another -o")
        try:
            self.stage = Path(tempfile.mkdtemp(prefix=".hinge-staging-", dir=self.outdir))
        except OSError as exc:
            raise OutputError(f"{self.outdir}: cannot write to the output folder ({exc.strerror})") from exc
        return self

    def path(self, name: str) -> Path:
        return self.stage / name

    def commit(self) -> list[Path]:
        """Move staged files into the output folder (each move is atomic)."""
        moved = []
        for item in sorted(self.stage.iterdir()):
            target = self.outdir / item.name
            os.replace(item, target)
            moved.append(target)
        return moved

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)
        if exc_type is not None and self._created:
            with contextlib.suppress(OSError):  # only removed while still empty
                self.outdir.rmdir()
