"""Rule tables from models/rules/*.toml: thresholds with units and reasons, one table per exercise."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from analyzer.errors import ConfigError

EXERCISES = ("deadlift", "rdl", "good_morning", "kb_swing", "single_leg_rdl")


@dataclass(frozen=True)
class Threshold:
    value: float
    unit: str
    reason: str


@dataclass(frozen=True)
class ThresholdTable:
    """A table of thresholds from one TOML file, addressed by dotted names such as ``reps.hinged_min_deg``.

    ``name`` is the table's top-level ``exercise`` (rule tables) or ``name`` (other tables).
    """

    name: str
    version: str
    thresholds: MappingProxyType[str, Threshold]
    sha256: str

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def exercise(self) -> str:
        return self.name

    def value(self, name: str) -> float:
        try:
            return self.thresholds[name].value
        except KeyError:
            raise ConfigError(f"threshold table {self.id} has no threshold {name!r}") from None


# One exercise's rule table is a ThresholdTable named by its exercise.
RuleSet = ThresholdTable


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Threshold]:
    out: dict[str, Threshold] = {}
    for key, item in table.items():
        name = f"{prefix}{key}"
        if not isinstance(item, dict):
            continue
        if "value" in item:
            missing = {"unit", "reason"} - item.keys()
            if missing:
                raise ConfigError(f"threshold {name} lacks {', '.join(sorted(missing))}")
            out[name] = Threshold(float(item["value"]), str(item["unit"]), str(item["reason"]))
        else:
            out.update(_flatten(item, f"{name}."))
    return out


def parse_table(text: str, source: str, name_key: str = "name") -> ThresholdTable:
    """Parse a threshold table; it needs top-level ``name_key`` and ``version``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    if name_key not in data or "version" not in data:
        raise ConfigError(f"{source}: needs top-level '{name_key}' and 'version'")
    return ThresholdTable(
        name=str(data[name_key]),
        version=str(data["version"]),
        thresholds=MappingProxyType(_flatten(data)),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def parse_rules(text: str, source: str) -> RuleSet:
    return parse_table(text, source, name_key="exercise")


def load_rules(exercise: str, rules_dir: Path | None = None) -> RuleSet:
    """Rule table for an exercise, from ``rules_dir`` or the packaged ``analyzer.models/rules``."""
    if exercise not in EXERCISES:
        raise ConfigError(f"unknown exercise {exercise!r}; choose one of {', '.join(EXERCISES)}")
    if rules_dir is not None:
        path = Path(rules_dir) / f"{exercise}.toml"
        if not path.is_file():
            raise ConfigError(f"{path}: no rule table for {exercise}")
        return parse_rules(path.read_text(), str(path))
    resource = resources.files("analyzer.models").joinpath("rules", f"{exercise}.toml")
    return parse_rules(resource.read_text(), f"rules/{exercise}.toml")


def load_table(name: str, models_dir: Path | None = None) -> ThresholdTable:
    """Threshold table ``<name>.toml`` from ``models_dir`` or the packaged ``analyzer.models``."""
    if models_dir is not None:
        path = Path(models_dir) / f"{name}.toml"
        if not path.is_file():
            raise ConfigError(f"{path}: no threshold table {name!r}")
        return parse_table(path.read_text(), str(path))
    resource = resources.files("analyzer.models").joinpath(f"{name}.toml")
    if not resource.is_file():
        raise ConfigError(f"no packaged threshold table {name!r}")
    return parse_table(resource.read_text(), f"{name}.toml")
