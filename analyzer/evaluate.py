"""``hinge eval``: score the pipeline against a labelled set of clips.

Labels CSV: one row per clip with at least ``file`` and ``reps``; optional ``exercise``, ``view`` and
``faults`` (``;`` or ``,`` separated codes, ``none`` for a clean clip, ``unknown``/``n/a`` to skip).
Each clip is analysed into ``OUT/clips/<stem>/`` (a rerun reuses the cached landmarks there), then
rep-count, view, exercise and per-fault figures are computed. Pure scoring lives in ``score``.
"""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analyzer.errors import AnalyzerError, ConfigError

HINGES = ("deadlift", "rdl", "good_morning", "kb_swing", "kb_deadlift", "sumo_deadlift", "single_leg_rdl")
SAGITTAL_VIEWS = ("side", "oblique")
# label fault names -> the analyzer's fault codes that count as finding them
FAULT_ALIASES = {
    "rounded_back": ("rounded_back",),
    "hyperextended_lockout": ("hyperextended_lockout",),
    "hyperextended_spine": ("hyperextended_lockout",),
    "squatting": ("squatting_the_pull",),
    "bar_drift": ("bar_drift",),
    "neck_extension": ("neck_craning",),
}
SKIP_FAULT_LABELS = {"unknown", "unknown_bad", "n/a", ""}


@dataclass(frozen=True)
class ClipResult:
    """One labelled clip and what the analyzer said about it."""

    file: str
    label: Mapping[str, str]
    reps: int | None = None
    view: str | None = None
    exercise: str | None = None
    faults: frozenset[str] = frozenset()
    error: str = ""


@dataclass(frozen=True)
class Scores:
    clips: int
    errors: int
    rep_exact: Mapping[str, tuple[int, int]]  # group -> (exact, total)
    rep_mae: float
    ghost_reps: int
    missed_reps: int
    view_accuracy: tuple[int, int] | None
    exercise_accuracy: tuple[int, int] | None
    faults: Mapping[str, Mapping[str, float]] = field(default_factory=dict)


def read_labels(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the labels ({exc.strerror})") from exc
    if not rows or "file" not in rows[0] or "reps" not in rows[0]:
        raise ConfigError(f"{path}: the labels CSV needs at least the columns 'file' and 'reps'")
    return rows


def _label_faults(text: str) -> set[str] | None:
    raw = [c.strip() for c in text.replace(";", ",").split(",")]
    if any(c.endswith("?") for c in raw):
        return None  # the labeller was unsure: not scored
    codes = set(raw)
    if not codes or codes <= SKIP_FAULT_LABELS:
        return None  # not judgeable from the footage
    return set() if codes == {"none"} else codes - {"none"}


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def score(results: Sequence[ClipResult]) -> Scores:
    """Pure scoring of analyzer outputs against labels."""
    exact: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    errors_abs, ghosts, missed = [], 0, 0
    view_hits = exercise_hits = 0
    view_total = exercise_total = 0
    fault_counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in results:
        truth = _int_or_none(r.label.get("reps", ""))
        exercise = r.label.get("exercise", "")
        view = r.label.get("view", "")
        if r.error or r.reps is None or truth is None:
            continue
        is_hinge = exercise in HINGES
        groups = [f"{exercise or 'all'}/{view or 'any'}", "all"]
        if is_hinge and view in SAGITTAL_VIEWS:
            groups.append("hinge side+oblique")
        for g in groups:
            exact[g][0] += int(r.reps == truth)
            exact[g][1] += 1
        errors_abs.append(abs(r.reps - truth))
        ghosts += max(0, r.reps - truth)
        missed += max(0, truth - r.reps)
        if view and view != "multi" and r.view:
            view_total += 1
            view_hits += int(r.view == view)
        if exercise and r.exercise:
            exercise_total += 1
            expected = exercise if exercise in ("deadlift", "rdl", "good_morning", "kb_swing") else (
                "deadlift" if exercise in ("kb_deadlift", "sumo_deadlift") else "not_hinge")
            exercise_hits += int(r.exercise == expected)
        labelled = _label_faults(r.label.get("faults", ""))
        if labelled is None:
            continue
        for name, codes in FAULT_ALIASES.items():
            has = name in labelled
            found = bool(set(codes) & r.faults)
            key = "tp" if has and found else "fn" if has else "fp" if found else "tn"
            fault_counts[name][key] += 1
    faults = {}
    for name, c in fault_counts.items():
        if c["tp"] + c["fn"] + c["fp"] == 0:
            continue
        faults[name] = {
            "tp": c["tp"], "fp": c["fp"], "fn": c["fn"], "tn": c["tn"],
            "precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan"),
            "recall": c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan"),
        }
    return Scores(
        clips=len(results), errors=sum(bool(r.error) for r in results),
        rep_exact={g: (v[0], v[1]) for g, v in sorted(exact.items())},
        rep_mae=sum(errors_abs) / len(errors_abs) if errors_abs else float("nan"),
        ghost_reps=ghosts, missed_reps=missed,
        view_accuracy=(view_hits, view_total) if view_total else None,
        exercise_accuracy=(exercise_hits, exercise_total) if exercise_total else None,
        faults=faults,
    )


def result_from_report(file: str, label: Mapping[str, str], report: Mapping[str, Any]) -> ClipResult:
    flagged = frozenset(f["code"] for rep in report.get("reps", []) for f in rep.get("faults", []))
    view = report.get("view", {}).get("view") if isinstance(report.get("view"), Mapping) else None
    return ClipResult(file=file, label=label, reps=len(report.get("reps", [])), view=view,
                      exercise=report.get("exercise", {}).get("recognized"), faults=flagged)


def analyze_to_report(clip: Path, outdir: Path, options: Any = None) -> dict[str, Any]:
    """``analyze`` one clip and return its report as a dict: the ``analyze_clip`` of ``evaluate``, picklable
    for the worker processes (``functools.partial`` it with an ``AnalyzeOptions``; default: no video)."""
    from analyzer.pipeline import AnalyzeOptions, analyze  # heavy: only in the process that analyses

    return analyze(clip, outdir, options if options is not None else AnalyzeOptions(video=False)).report.to_dict()


def _one(analyze_clip: Callable[[Path, Path], Mapping[str, Any]], clips_dir: Path, out: Path,
         row: dict[str, str]) -> ClipResult:
    try:
        report = analyze_clip(clips_dir / row["file"], out / "clips" / Path(row["file"]).stem)
        return result_from_report(row["file"], row, report)
    except AnalyzerError as exc:
        return ClipResult(file=row["file"], label=row, error=exc.message)


def evaluate(
    labels: Path, clips_dir: Path, out: Path, analyze_clip: Callable[[Path, Path], Mapping[str, Any]],
    progress: Callable[[Iterable[dict[str, str]]], Iterable[dict[str, str]]] = lambda rows: rows,
    *, workers: int = 1,
) -> tuple[list[ClipResult], Scores]:
    """Analyse every labelled clip (``analyze_clip(clip, outdir) -> report dict``) and score it.

    With ``workers`` > 1 the clips run in that many processes at once (``analyze_clip`` must then be
    picklable, e.g. ``partial(analyze_to_report, options=...)``): a clip shorter than the pose runner's
    split length keeps one core busy, so two at a time use both. Results keep the labels' order.
    """
    rows = read_labels(labels)
    if workers <= 1:
        results = [_one(analyze_clip, clips_dir, out, row) for row in progress(rows)]
        return results, score(results)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    # spawn, not fork: the parent may already run MediaPipe's and PyAV's threads
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = list(pool.map(partial(_one, analyze_clip, clips_dir, out), progress(rows)))
    return results, score(results)


def write_table(results: Sequence[ClipResult], path: Path) -> None:
    columns = ["file", "exercise", "view", "label_reps", "reps", "label_faults", "faults",
               "recognized", "view_found", "error"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for r in results:
            writer.writerow({
                "file": r.file, "exercise": r.label.get("exercise", ""), "view": r.label.get("view", ""),
                "label_reps": r.label.get("reps", ""), "reps": "" if r.reps is None else r.reps,
                "label_faults": r.label.get("faults", ""), "faults": ";".join(sorted(r.faults)),
                "recognized": r.exercise or "", "view_found": r.view or "", "error": r.error,
            })


def format_scores(s: Scores) -> str:
    def rate(pair: tuple[int, int] | None) -> str:
        return "n/a" if not pair or not pair[1] else f"{pair[0]}/{pair[1]} ({100 * pair[0] / pair[1]:.0f} %)"

    lines = [f"clips: {s.clips}  errors: {s.errors}",
             f"rep count exact, hinge side+oblique: {rate(s.rep_exact.get('hinge side+oblique'))}",
             f"rep count exact, all clips: {rate(s.rep_exact.get('all'))}",
             f"rep count mean absolute error: {s.rep_mae:.2f}  ghost reps: {s.ghost_reps}  missed: {s.missed_reps}",
             f"view accuracy: {rate(s.view_accuracy)}", f"exercise accuracy: {rate(s.exercise_accuracy)}",
             "rep count exact by exercise/view:"]
    lines += [f"  {g:28s} {rate(v)}" for g, v in s.rep_exact.items() if g not in ("all", "hinge side+oblique")]
    if s.faults:
        lines.append("faults (clip level): precision / recall (tp fp fn)")
        for name, f in s.faults.items():
            lines.append(f"  {name:22s} {f['precision']:.2f} / {f['recall']:.2f}  ({f['tp']} {f['fp']} {f['fn']})")
    return "\n".join(lines)


def scores_json(s: Scores) -> str:
    from analyzer.types import to_plain

    return json.dumps(to_plain(s), indent=2)
