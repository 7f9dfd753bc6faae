"""Core types shared by every stage: PoseSequence, Rep, Fault, Report.

Frames of reference: image pixels of the *upright* frame (rotation metadata already applied), x to the
right, y pointing down. Times are seconds from the clip's presentation timestamps, never ``i / fps``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

N_LANDMARKS = 33


class Landmark(enum.IntEnum):
    """BlazePose GHUM landmark indices (the PoseLandmarker's 33 points)."""

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32


# Segments drawn as the skeleton and used to size a person (pairs of Landmark values).
SKELETON_EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
    (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31),
    (24, 26), (26, 28), (28, 30), (30, 32), (28, 32),
    (0, 7), (0, 8),
)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True, eq=False)
class PoseSequence:
    """One lifter's landmarks over a clip.

    Attributes:
        xy: (T, 33, 2) float32 pixels in the upright frame; NaN where nobody was found.
        z: (T, 33) float32 relative depth (MediaPipe units, roughly image-width scale).
        visibility: (T, 33) float32 in [0, 1]; 0 where nobody was found.
        world: (T, 33, 3) float32 metres, hip-centred, from the model's world landmarks.
        t: (T,) float64 seconds from presentation timestamps, strictly increasing.
        frame_size: (width, height) of the upright frame in pixels.
        outline: (T, 2, R) float32 pixel distance from the shoulder->hip line to the edge of the
            person's segmentation mask, cast perpendicular to that line. Side 0 is along the normal
            (-dy, dx) of the shoulder->hip direction (dx, dy); side 1 along the opposite normal.
            NaN where the mask gave no edge. Empty (T, 2, 0) when masks were off.
        outline_fractions: (R,) positions of the rays along shoulder (0) -> hip (1).
        mask_area: (T,) float32 fraction of the frame covered by the person's mask (NaN if off).
        frame_index: (T,) int64 index of each row's frame in decode order.
    """

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    t: np.ndarray
    frame_size: tuple[int, int]
    outline: np.ndarray = field(default_factory=lambda: np.zeros((0, 2, 0), np.float32))
    outline_fractions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    mask_area: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    frame_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        n = len(self.t)
        set_ = object.__setattr__
        set_(self, "t", np.asarray(self.t, np.float64))
        set_(self, "xy", np.asarray(self.xy, np.float32))
        set_(self, "z", np.asarray(self.z, np.float32))
        set_(self, "visibility", np.asarray(self.visibility, np.float32))
        set_(self, "world", np.asarray(self.world, np.float32))
        set_(self, "frame_size", (int(self.frame_size[0]), int(self.frame_size[1])))
        if self.outline.shape[0] == 0 and n:
            set_(self, "outline", np.full((n, 2, 0), np.nan, np.float32))
        if self.mask_area.shape[0] == 0 and n:
            set_(self, "mask_area", np.full(n, np.nan, np.float32))
        if self.frame_index.shape[0] == 0 and n:
            set_(self, "frame_index", np.arange(n, dtype=np.int64))
        set_(self, "outline", np.asarray(self.outline, np.float32))
        set_(self, "outline_fractions", np.asarray(self.outline_fractions, np.float32))
        set_(self, "mask_area", np.asarray(self.mask_area, np.float32))
        set_(self, "frame_index", np.asarray(self.frame_index, np.int64))
        _require(self.t.ndim == 1, f"t must be (T,), got {self.t.shape}")
        _require(self.xy.shape == (n, N_LANDMARKS, 2), f"xy must be ({n}, 33, 2), got {self.xy.shape}")
        _require(self.z.shape == (n, N_LANDMARKS), f"z must be ({n}, 33), got {self.z.shape}")
        _require(self.visibility.shape == (n, N_LANDMARKS), "visibility must be (T, 33)")
        _require(self.world.shape == (n, N_LANDMARKS, 3), "world must be (T, 33, 3)")
        _require(n < 2 or bool(np.all(np.diff(self.t) > 0)), "t must be strictly increasing")
        r = self.outline_fractions.shape[0]
        _require(self.outline.shape == (n, 2, r), f"outline must be ({n}, 2, {r}), got {self.outline.shape}")
        _require(self.mask_area.shape == (n,), "mask_area must be (T,)")
        _require(self.frame_index.shape == (n,), "frame_index must be (T,)")
        _require(self.frame_size[0] > 0 and self.frame_size[1] > 0, "frame_size must be positive")

    def __len__(self) -> int:
        return len(self.t)

    def __getitem__(self, index: slice) -> PoseSequence:
        if not isinstance(index, slice):
            raise TypeError("PoseSequence supports slicing only; index .xy etc. for single frames")
        return PoseSequence(
            xy=self.xy[index], z=self.z[index], visibility=self.visibility[index],
            world=self.world[index], t=self.t[index], frame_size=self.frame_size,
            outline=self.outline[index], outline_fractions=self.outline_fractions,
            mask_area=self.mask_area[index], frame_index=self.frame_index[index],
        )

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: a person was found in the frame."""
        return ~np.isnan(self.xy[:, 0, 0])

    @classmethod
    def empty(cls, t: np.ndarray, frame_size: tuple[int, int], n_rays: int = 0) -> PoseSequence:
        """All-NaN sequence on the given timestamps (no person anywhere)."""
        n = len(t)
        return cls(
            xy=np.full((n, N_LANDMARKS, 2), np.nan, np.float32),
            z=np.full((n, N_LANDMARKS), np.nan, np.float32),
            visibility=np.zeros((n, N_LANDMARKS), np.float32),
            world=np.full((n, N_LANDMARKS, 3), np.nan, np.float32),
            t=t, frame_size=frame_size,
            outline=np.full((n, 2, n_rays), np.nan, np.float32),
            outline_fractions=np.linspace(0.1, 0.9, n_rays, dtype=np.float32),
        )

    def save(self, path: Path) -> None:
        """Write as compressed ``.npz`` (re-scoring never needs the model again)."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "frame_size"}
        np.savez_compressed(path, frame_size=np.asarray(self.frame_size), **arrays)

    @classmethod
    def load(cls, path: Path) -> PoseSequence:
        with np.load(path) as data:
            kwargs = {k: data[k] for k in data.files if k != "frame_size"}
            size = tuple(int(v) for v in data["frame_size"])
        return cls(frame_size=(size[0], size[1]), **kwargs)


class FaultCode(enum.StrEnum):
    ROUNDED_BACK = "rounded_back"
    HYPEREXTENDED_LOCKOUT = "hyperextended_lockout"
    NECK_CRANING = "neck_craning"
    NECK_SAGGING = "neck_sagging"
    SQUATTING_THE_PULL = "squatting_the_pull"
    HIPS_RISE_FIRST = "hips_rise_first"
    BAR_DRIFT = "bar_drift"
    INCOMPLETE_LOCKOUT = "incomplete_lockout"
    UNCONTROLLED_LOWERING = "uncontrolled_lowering"


@dataclass(frozen=True)
class Fault:
    """A rule crossed on one rep: what was measured, against which threshold, how sure we are."""

    code: FaultCode
    severity: float
    confidence: float
    worst_t: float
    measured: float
    threshold: float
    unit: str

    def __post_init__(self) -> None:
        _require(0.0 <= self.severity <= 1.0, f"severity must be in [0, 1], got {self.severity}")
        _require(0.0 <= self.confidence <= 1.0, f"confidence must be in [0, 1], got {self.confidence}")


@dataclass(frozen=True)
class Rep:
    """One repetition: phase times from timestamps (seconds) and metrics with units in their names."""

    index: int
    start_s: float
    bottom_s: float
    lockout_s: float
    end_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    cues: tuple[str, ...] = ()
    judgeable: bool = True
    not_judged_reason: str = ""
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """fault code -> {status: flagged|ok|not_judged, measured, threshold, unit, reason}"""

    def __post_init__(self) -> None:
        _require(self.index >= 1, "rep index counts from 1")
        _require(
            self.start_s <= self.bottom_s <= self.lockout_s <= self.end_s,
            f"rep {self.index}: need start <= bottom <= lockout <= end, got "
            f"{self.start_s}, {self.bottom_s}, {self.lockout_s}, {self.end_s}",
        )


REPORT_SCHEMA_VERSION = "1.1"


def to_plain(value: Any) -> Any:
    """Convert dataclasses, enums, numpy scalars and NaN to JSON-plain values (NaN -> None)."""
    if hasattr(value, "__dataclass_fields__"):
        return to_plain(asdict(value))
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Report:
    """Everything one analysis found; ``to_dict`` is the versioned JSON schema."""

    clip: Mapping[str, Any]
    exercise: Mapping[str, Any]
    reps: tuple[Rep, ...]
    summary: Mapping[str, Any]
    warnings: tuple[str, ...]
    provenance: Mapping[str, Any]
    view: Mapping[str, Any] = field(default_factory=dict)
    schema_version: str = REPORT_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "clip": to_plain(self.clip),
            "exercise": to_plain(self.exercise),
            "view": to_plain(self.view),
            "summary": to_plain(self.summary),
            "reps": [to_plain(r) for r in self.reps],
            "warnings": list(self.warnings),
            "provenance": to_plain(self.provenance),
        }
