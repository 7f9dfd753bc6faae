"""Hip-hinge form analyzer: phone clip in, per-rep measurements, faults, cues and an annotated video out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hinge-analyzer")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
