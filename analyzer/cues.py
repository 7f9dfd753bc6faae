"""Coaching cues from a rep's faults: at most a few short, positive instructions, most severe first (pure).

The words live in models/cues.toml, keyed by fault code, so coaches can edit them without touching code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from analyzer.errors import ConfigError
from analyzer.types import Fault, FaultCode

MAX_CUES_PER_REP = 2


def parse_cues(text: str, source: str) -> Mapping[FaultCode, str]:
    """Fault code -> cue text from a cues TOML; every fault code must have a non-empty cue."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    table = data.get("cues", {})
    out: dict[FaultCode, str] = {}
    for code in FaultCode:
        entry = table.get(code.value)
        if not isinstance(entry, dict) or not str(entry.get("text", "")).strip():
            raise ConfigError(f"{source}: no cue text for {code.value}")
        out[code] = str(entry["text"]).strip()
    return MappingProxyType(out)


def load_cues(path: Path | None = None) -> Mapping[FaultCode, str]:
    """The cue table from ``path`` or the packaged ``analyzer.models/cues.toml``."""
    if path is not None:
        return parse_cues(Path(path).read_text(), str(path))
    return parse_cues(resources.files("analyzer.models").joinpath("cues.toml").read_text(), "cues.toml")


def cues_for(faults: Sequence[Fault], table: Mapping[FaultCode, str], limit: int = MAX_CUES_PER_REP) -> tuple[str, ...]:
    """Cues for one rep's faults: most severe first (then most confident), one per code, at most ``limit``."""
    ranked = sorted(faults, key=lambda f: (-f.severity, -f.confidence, f.code.value))
    out: list[str] = []
    seen: set[FaultCode] = set()
    for fault in ranked:
        if fault.code in seen:
            continue
        seen.add(fault.code)
        out.append(table[fault.code])
        if len(out) == limit:
            break
    return tuple(out)
