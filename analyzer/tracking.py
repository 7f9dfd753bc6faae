"""Pick the lifter among the people the pose model found (pure numpy/scipy).

With several people in frame, the model's order of poses is not stable from frame to frame, and the
first one detected is often a spotter or someone walking past. We link detections into tracks by
position and call the lifter the track with the largest body area times motion, summed over the clip:
the lifter is near the camera and moves for the whole set.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

# A detection joins a track when its centre is within this many body sizes of the track's last centre.
LINK_GATE_BODY_SIZES = 0.5
# Per-frame motion is capped (in body sizes) so one mislinked jump cannot outweigh a whole set.
MOTION_CAP_BODY_SIZES = 0.25


@dataclass(frozen=True)
class Detection:
    """One person in one frame: (33, 2) pixel landmarks and (33,) visibility."""

    xy: np.ndarray
    visibility: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        return np.nanmedian(self.xy, axis=0)

    @property
    def size(self) -> float:
        """Bounding-box diagonal in pixels."""
        span = np.nanmax(self.xy, axis=0) - np.nanmin(self.xy, axis=0)
        return float(np.hypot(*span))

    @property
    def area(self) -> float:
        span = np.nanmax(self.xy, axis=0) - np.nanmin(self.xy, axis=0)
        return float(span[0] * span[1])

    @property
    def box(self) -> np.ndarray:
        """(x0, y0, x1, y1) around the landmarks, pixels."""
        return np.concatenate([np.nanmin(self.xy, axis=0), np.nanmax(self.xy, axis=0)])


# Two poses in one frame whose boxes share at least this share of the smaller box are one person found
# twice (the model's second pose on a half-hidden lifter is a smaller skeleton inside the first). Two real
# people that close hide one another: someone passing right in front of the camera would cost the lifter
# those frames, as any occlusion does, which is cheaper than the cut track a duplicate causes.
DUPLICATE_OVERLAP = 0.7


def _overlap_of_smaller(a: np.ndarray, b: np.ndarray) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if not (width > 0 and height > 0):
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(width * height / smaller) if smaller > 0 else 1.0


def distinct_people(people: list[Detection]) -> list[int]:
    """Indices of the detections that are different people, largest first: a detection whose box lies
    mostly inside a larger one's (``DUPLICATE_OVERLAP``) is the same person found twice and is dropped.

    Left in, a duplicate starts a track of its own that shares frames with the lifter's, and a track that
    shares frames with the lifter can't be joined to it: the lifter's track before the duplicate is lost.
    """
    kept: list[int] = []
    for j in sorted(range(len(people)), key=lambda k: people[k].area, reverse=True):
        if all(_overlap_of_smaller(people[j].box, people[k].box) < DUPLICATE_OVERLAP for k in kept):
            kept.append(j)
    return kept


def link_tracks(detections: list[list[Detection]]) -> list[list[tuple[int, int]]]:
    """Group detections into tracks.

    Args:
        detections: per frame, the people found (possibly none).

    Returns:
        Tracks, each a list of (frame index, detection index) in frame order.
    """
    from scipy.optimize import linear_sum_assignment  # imported here: the CLI's start-up should not load scipy

    tracks: list[list[tuple[int, int]]] = []
    open_tracks: list[int] = []  # indices into tracks that may continue
    for frame, people in enumerate(detections):
        if not people:
            continue
        if open_tracks:
            cost = np.empty((len(open_tracks), len(people)))
            for i, track_id in enumerate(open_tracks):
                last_frame, last_det = tracks[track_id][-1]
                last = detections[last_frame][last_det]
                for j, person in enumerate(people):
                    cost[i, j] = np.hypot(*(person.centre - last.centre)) / max(last.size, 1.0)
            rows, cols = linear_sum_assignment(cost)
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if cost[r, c] <= LINK_GATE_BODY_SIZES]
        else:
            pairs = []
        used = {c for _, c in pairs}
        for r, c in pairs:
            tracks[open_tracks[r]].append((frame, c))
        for j in range(len(people)):
            if j not in used:
                tracks.append([(frame, j)])
                open_tracks.append(len(tracks) - 1)
    return tracks


def track_score(detections: list[list[Detection]], track: list[tuple[int, int]]) -> float:
    """Body area times motion, summed over the track (pixels^3)."""
    score = 0.0
    for (f0, d0), (f1, d1) in itertools.pairwise(track):
        a, b = detections[f0][d0], detections[f1][d1]
        size = max(b.size, 1.0)
        motion = float(np.nanmean(np.hypot(*(b.xy - a.xy).T)))
        if not np.isfinite(motion):
            continue
        score += b.area * min(motion, MOTION_CAP_BODY_SIZES * size)
    if len(track) == 1:
        frame, det = track[0]
        score = detections[frame][det].area * 1e-6  # a lone detection only wins when nothing moves
    return score


# A track that never overlaps the lifter in time joins it (the same person after a camera cut or a
# tracking loss) when it scores at least this share of the best track.
JOIN_MIN_SCORE_SHARE = 0.1


def select_lifter(detections: list[list[Detection]]) -> list[int | None]:
    """For each frame, the index of the lifter's detection, or None when the lifter is not there.

    The same person found twice in a frame counts once (``distinct_people``). The best-scoring track is
    the lifter; other tracks that never share a frame with the chosen ones are joined to it in score order
    (the lifter re-found after a cut). A clip where nobody moves falls back to the largest person.
    """
    choice: list[int | None] = [None] * len(detections)
    kept = [distinct_people(people) for people in detections]
    detections = [[people[j] for j in keep] for people, keep in zip(detections, kept, strict=True)]
    tracks = link_tracks(detections)
    if not tracks:
        return choice
    scores = [track_score(detections, t) for t in tracks]
    areas = [sum(detections[f][d].area for f, d in t) for t in tracks]
    order = sorted(range(len(tracks)), key=lambda i: (scores[i], areas[i]), reverse=True)
    best_score = scores[order[0]]
    for rank, track_id in enumerate(order):
        track = tracks[track_id]
        if rank and scores[track_id] < JOIN_MIN_SCORE_SHARE * best_score:
            break
        if any(choice[frame] is not None for frame, _ in track):
            continue
        for frame, det in track:
            choice[frame] = kept[frame][det]
    return choice
