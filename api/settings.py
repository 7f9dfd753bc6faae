"""Service settings: one pydantic-settings class, read from ``HINGE_*`` environment variables.

Defaults are written here once; ``hinge serve --help`` shows them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from analyzer.video import VideoLimits


class Settings(BaseSettings):
    """Where the service keeps its data, how many clips it analyses at once, and its upload limit."""

    model_config = SettingsConfigDict(env_prefix="HINGE_", extra="ignore")

    data_dir: Path = Field(default=Path("hinge-data"),
                           description="uploads, outputs, thumbnails and the SQLite file")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL (postgresql+psycopg://...); default: SQLite hinge.db in data_dir")
    workers: int = Field(default=1, ge=1, le=64,
                         description="clips analysed at once (worker processes or Dask tasks)")
    dask_scheduler: str | None = Field(
        default=None, description="tcp://HOST:PORT of a Dask scheduler to run jobs on instead of local processes")
    max_upload_mb: float = Field(default=VideoLimits().max_file_mb, gt=0,
                                 description="largest upload accepted, MB (1e6 B)")
    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    max_attempts: int = Field(default=3, ge=1,
                              description="starts of one job (restarts included) before it is failed")

    @field_validator("dask_scheduler")
    @classmethod
    def _scheduler_address(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("tcp://", "tls://", "inproc://")):
            raise ValueError("HINGE_DASK_SCHEDULER must look like tcp://HOST:PORT")
        return value

    @property
    def db_url(self) -> str:
        """The database URL actually used (the SQLite default lives inside data_dir)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hinge.db').resolve()}"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)

    @property
    def video_limits(self) -> VideoLimits:
        """The analyzer's limits with the service's upload size (other limits keep their defaults)."""
        return VideoLimits(max_file_mb=self.max_upload_mb)

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "analyses"

    @property
    def thumbs_dir(self) -> Path:
        return self.data_dir / "thumbs"

    @property
    def incoming_dir(self) -> Path:
        """Uploads in flight; a rejected or interrupted upload's temp file is removed from here."""
        return self.data_dir / "incoming"

    def make_dirs(self) -> None:
        for folder in (self.data_dir, self.uploads_dir, self.outputs_dir, self.thumbs_dir, self.incoming_dir):
            folder.mkdir(parents=True, exist_ok=True)
