"""Pose edge: MediaPipe PoseLandmarker (Tasks API, VIDEO mode) -> PoseSequence.

The only module that imports mediapipe. One landmarker per clip; timestamps strictly increasing.
The model bundle ships inside the package (``analyzer.models``) and is checked against its sha256
when loaded; ``HINGE_POSE_MODEL=/path/file.task`` selects another bundle. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from analyzer.errors import ModelError, NoPersonError
from analyzer.files import file_sha256 as _sha256
from analyzer.options import opt
from analyzer.outline import DEFAULT_RAY_FRACTIONS, torso_outline
from analyzer.tracking import Detection, select_lifter
from analyzer.types import N_LANDMARKS, Landmark, PoseSequence
from analyzer.video import Frame

MODEL_ENV = "HINGE_POSE_MODEL"
BUNDLED_MODEL = "pose_landmarker_full.task"


@dataclass(frozen=True)
class PoseOptions:
    """Settings of the pose stage."""

    max_people: int = opt(2, "people the model looks for per frame; the lifter is picked among them")
    min_detection_confidence: float = opt(0.5, "pose detector score needed to find a person")
    min_presence_confidence: float = opt(0.5, "landmark model score needed to keep a person")
    min_tracking_confidence: float = opt(0.5, "score needed to track rather than re-detect")
    segmentation: bool = opt(True, "compute person masks for the back-outline measure")
    max_side: int = opt(960, "frames are scaled down to this longer side (pixels) for the model")
    people_survey: bool = opt(False, "fast mode: look for people on 16 frames first and, when nobody else is in "
                                     "view, track one person instead of detecting every frame: about twice as fast "
                                     "but less accurate (see README, Performance)")
    max_analysis_fps: float = opt(60.0, "slow-motion clips are thinned to this rate for the model; the "
                                        "annotated video keeps every frame")


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    sha256: str
    bundled: bool


def resolve_model() -> ModelInfo:
    """Find the pose bundle and check it.

    The bundled model must match ``pose_landmarker_full.task.sha256``; a bundle named by
    HINGE_POSE_MODEL is used as given and its sha256 goes into the report's provenance.
    """
    override = os.environ.get(MODEL_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise ModelError(f"{MODEL_ENV}={override}: no such model file")
        return ModelInfo(path=path, sha256=_sha256(path), bundled=False)
    package = resources.files("analyzer.models")
    path = Path(str(package.joinpath(BUNDLED_MODEL)))
    expected_file = Path(str(package.joinpath(BUNDLED_MODEL + ".sha256")))
    if not path.is_file() or not expected_file.is_file():
        raise ModelError(f"the bundled pose model {BUNDLED_MODEL} is missing; reinstall hinge-analyzer")
    expected = expected_file.read_text().split()[0]
    actual = _sha256(path)
    if actual != expected:
        raise ModelError(
            f"{path}: sha256 {actual[:12]}... does not match the expected {expected[:12]}...; the model file "
            "is damaged; reinstall, or rebuild it with models/build_pose_model.py"
        )
    return ModelInfo(path=path, sha256=actual, bundled=True)


@contextlib.contextmanager
def _native_logs_silenced() -> Iterator[None]:
    """Hide the INFO/WARNING lines MediaPipe's native code prints to fd 2 while it loads a model.

    They are not actionable for a user and would bury the progress bar; Python exceptions still
    propagate. Set HINGE_DEBUG=1 to see them.
    """
    if os.environ.get("HINGE_DEBUG"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _create_landmarker(options: PoseOptions, model: ModelInfo, *, video: bool) -> Any:
    """A PoseLandmarker for ``options``: VIDEO mode with masks as set (a clip), or IMAGE mode without (stills)."""
    from mediapipe.tasks.python import BaseOptions, vision

    if video:
        mode = {"running_mode": vision.RunningMode.VIDEO, "min_tracking_confidence": options.min_tracking_confidence,
                "output_segmentation_masks": options.segmentation}
    else:
        mode = {"running_mode": vision.RunningMode.IMAGE, "output_segmentation_masks": False}
    settings = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model.path)),
        num_poses=options.max_people,
        min_pose_detection_confidence=options.min_detection_confidence,
        min_pose_presence_confidence=options.min_presence_confidence,
        **mode,
    )
    try:
        with _native_logs_silenced():
            return vision.PoseLandmarker.create_from_options(settings)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"{model.path}: not a usable PoseLandmarker bundle ({exc})") from exc


@dataclass(frozen=True)
class _Person:
    """One person in one frame, in full-frame pixels."""

    xy: np.ndarray  # (33, 2)
    z: np.ndarray  # (33,)
    visibility: np.ndarray  # (33,)
    world: np.ndarray  # (33, 3)
    outline: np.ndarray  # (2, R)
    mask_area: float


class PoseEstimator:
    """A PoseLandmarker for one clip. Use as a context manager; call ``detect`` frame by frame."""

    def __init__(self, options: PoseOptions = PoseOptions(), model: ModelInfo | None = None) -> None:
        import mediapipe as mp

        self.options = options
        self.model = model or resolve_model()
        self._mp = mp
        self._landmarker = _create_landmarker(options, self.model, video=True)
        self._last_ms = -1
        self._frames_seen = 0

    def detect(self, frame: Frame, full_size: tuple[int, int]) -> list[_Person]:
        """People in one frame. ``full_size`` is the upright (width, height) landmarks are scaled to."""
        image = np.ascontiguousarray(frame.image)  # padded PyAV rows make MediaPipe find nobody
        timestamp_ms = max(int(round(frame.t * 1000.0)), self._last_ms + 1)
        self._last_ms = timestamp_ms
        mp_image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=image)
        if self._frames_seen < 2:  # the graph finishes loading (and logs) on the first frames
            with _native_logs_silenced():
                result = self._landmarker.detect_for_video(mp_image, timestamp_ms)
        else:
            result = self._landmarker.detect_for_video(mp_image, timestamp_ms)
        self._frames_seen += 1
        width, height = full_size
        scale = width / image.shape[1]
        people = []
        masks = result.segmentation_masks or []
        for i, landmarks in enumerate(result.pose_landmarks):
            xy = np.array([(p.x * width, p.y * height) for p in landmarks], np.float32)
            z = np.array([p.z for p in landmarks], np.float32)
            visibility = np.array([p.visibility or 0.0 for p in landmarks], np.float32)
            world = (
                np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks[i]], np.float32)
                if i < len(result.pose_world_landmarks) else np.full((N_LANDMARKS, 3), np.nan, np.float32)
            )
            outline = np.full((2, len(DEFAULT_RAY_FRACTIONS)), np.nan, np.float32)
            area = np.nan
            if i < len(masks):
                mask = masks[i].numpy_view()
                mask = mask[..., 0] if mask.ndim == 3 else mask
                shoulder, hip = _torso_axis(xy, visibility)
                outline = torso_outline(mask, shoulder / scale, hip / scale) * scale
                area = float(np.mean(mask >= 0.5))
            people.append(_Person(xy, z, visibility, world, outline, area))
        return people

    def close(self) -> None:
        with _native_logs_silenced():
            self._landmarker.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SURVEY_FRAMES = 16


@dataclass(frozen=True)
class PeopleSurvey:
    """How many people the model saw at most on frames spread over the clip, and what that decides."""

    frames: int
    most_people: int
    tracked_people: int

    def as_dict(self) -> dict[str, int]:
        return {"frames": self.frames, "most_people": self.most_people, "tracked_people": self.tracked_people}


def survey_people(frames: Iterable[Frame], options: PoseOptions = PoseOptions(), *,
                  model: ModelInfo | None = None) -> PeopleSurvey:
    """Count people on a few still frames (IMAGE mode, ``options.max_people`` poses).

    Tracking one person in VIDEO mode runs the person detector only when the track is lost, while
    looking for two runs it on every frame that has fewer: about half the speed. When no frame of the
    survey shows a second person, the clip is analysed tracking one; otherwise the lifter is chosen
    among all tracks as before.
    """
    import mediapipe as mp

    landmarker = _create_landmarker(options, model or resolve_model(), video=False)
    count = most = 0
    try:
        for frame in frames:
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(frame.image))
            with _native_logs_silenced():
                result = landmarker.detect(image)
            most = max(most, len(result.pose_landmarks))
            count += 1
    finally:
        with _native_logs_silenced():
            landmarker.close()
    tracked = options.max_people if most >= 2 else 1
    return PeopleSurvey(frames=count, most_people=most, tracked_people=tracked)


def _torso_axis(xy: np.ndarray, visibility: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-shoulder and mid-hip points: the torso's axis for the outline rays.

    The midpoints (not one side's joints) sit inside the silhouette in every view, which the rays
    need as their starting points.
    """
    shoulder = (xy[Landmark.LEFT_SHOULDER] + xy[Landmark.RIGHT_SHOULDER]) / 2.0
    hip = (xy[Landmark.LEFT_HIP] + xy[Landmark.RIGHT_HIP]) / 2.0
    return shoulder, hip


def detect_people(
    frames: Iterable[Frame],
    full_size: tuple[int, int],
    options: PoseOptions = PoseOptions(),
    *,
    model: ModelInfo | None = None,
    on_frame: Callable[[Frame], Any] | None = None,
) -> PeopleFound:
    """Every person the model finds on every frame, in full-frame pixels, with the frames' times."""
    times: list[float] = []
    indices: list[int] = []
    found: list[list[_Person]] = []
    with PoseEstimator(options, model) as estimator:
        for frame in frames:
            found.append(estimator.detect(frame, full_size))
            times.append(frame.t)
            indices.append(frame.index)
            if on_frame is not None:
                on_frame(frame)
    return PeopleFound(t=times, index=indices, people=found)


@dataclass(frozen=True)
class PeopleFound:
    """Per frame: time (s), frame index, and the people found (possibly none)."""

    t: list[float]
    index: list[int]
    people: list[list[_Person]]


def lifter_sequence(found: PeopleFound, full_size: tuple[int, int]) -> PoseSequence:
    """The lifter's PoseSequence out of everyone found: one row per frame, NaN where the lifter is absent.

    Raises NoPersonError when nobody is found in any frame.
    """
    t = np.asarray(found.t, np.float64)
    sequence = PoseSequence.empty(t, full_size, n_rays=len(DEFAULT_RAY_FRACTIONS))
    if not any(found.people):
        raise NoPersonError("nobody was found in any frame; film the whole body, well lit, from the side")
    choice = select_lifter([[Detection(p.xy, p.visibility) for p in people] for people in found.people])
    rows = [(i, found.people[i][c]) for i, c in enumerate(choice) if c is not None]
    xy, z, vis, world = sequence.xy.copy(), sequence.z.copy(), sequence.visibility.copy(), sequence.world.copy()
    outline, area = sequence.outline.copy(), sequence.mask_area.copy()
    for i, person in rows:
        xy[i], z[i], vis[i], world[i] = person.xy, person.z, person.visibility, person.world
        outline[i], area[i] = person.outline, person.mask_area
    return PoseSequence(
        xy=xy, z=z, visibility=vis, world=world, t=t, frame_size=full_size, outline=outline,
        outline_fractions=DEFAULT_RAY_FRACTIONS, mask_area=area, frame_index=np.asarray(found.index, np.int64),
    )


def estimate(
    frames: Iterable[Frame],
    full_size: tuple[int, int],
    options: PoseOptions = PoseOptions(),
    *,
    model: ModelInfo | None = None,
    on_frame: Callable[[Frame], Any] | None = None,
) -> PoseSequence:
    """Run the pose model over frames and return the lifter's PoseSequence.

    Every frame gets a row; frames where the lifter is not found are NaN rows. Raises NoPersonError
    when nobody is found in any frame.
    """
    return lifter_sequence(detect_people(frames, full_size, options, model=model, on_frame=on_frame), full_size)
