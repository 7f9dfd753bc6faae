"""``opt``: a dataclass field with its help text, so CLI flags and their help come from the defaults."""

from __future__ import annotations

from dataclasses import field
from typing import Any


def opt(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})
