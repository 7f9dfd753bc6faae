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
class RuleSet:
    """One exercise's thresholds, addressed by dotted names such as ``reps.hinged_min_deg``."""

    exercise: str
    version: str
    thresholds: MappingProxyType[str, Threshold]
    sha256: str

    @property
    def id(self) -> str:
        return f"{self.exercise}@{self.version}"

    def value(self, name: str) -> float:
        try:
            return self.thresholds[name].value
        except KeyError:
            raise ConfigError(f"rule table {self.id} has no threshold {name!r}") from None


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


def parse_rules(text: str, source: str) -> RuleSet:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    if "exercise" not in data or "version" not in data:
        raise ConfigError(f"{source}: needs top-level 'exercise' and 'version'")
    return RuleSet(
        exercise=str(data["exercise"]),
        version=str(data["version"]),
        thresholds=MappingProxyType(_flatten(data)),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


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


@dataclass(frozen=True)
class ThresholdTable:
    """A non-exercise threshold table (such as ``models/view.toml``), addressed by dotted names."""

    name: str
    version: str
    thresholds: MappingProxyType[str, Threshold]
    sha256: str

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def value(self, name: str) -> float:
        try:
            return self.thresholds[name].value
        except KeyError:
            raise ConfigError(f"threshold table {self.id} has no threshold {name!r}") from None


def parse_table(text: str, source: str) -> ThresholdTable:
    """Parse a threshold table; it needs top-level ``name`` and ``version``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc})") from exc
    if "name" not in data or "version" not in data:
        raise ConfigError(f"{source}: needs top-level 'name' and 'version'")
    return ThresholdTable(
        name=str(data["name"]),
        version=str(data["version"]),
        thresholds=MappingProxyType(_flatten(data)),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


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
