"""Write the report: ``report.json`` (versioned schema) and ``reps.csv`` (one row per rep)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from analyzer.types import Rep, Report, to_plain

NOT_SEEN = "not seen"


def shown(value: float | None, spec: str = ".1f", unit: str = "s") -> str:
    """A metric for people to read: '1.4 s', or 'not seen' when the footage did not show it (NaN)."""
    if value is None or value != value:
        return NOT_SEEN
    return f"{value:{spec}} {unit}".rstrip()


def rep_summary(rep: Rep) -> str:
    """'depth 64 deg, down 1.8 s, up not seen': one line for the terminal, the page and the video."""
    m = rep.metrics
    return (f"depth {shown(m.get('trunk_incline_max_deg'), '.0f', 'deg')}, down {shown(m.get('descent_s'))}, "
            f"up {shown(m.get('ascent_s'))}")

REP_TIME_COLUMNS = ("rep", "start_s", "bottom_s", "lockout_s", "end_s")


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n")


def rep_rows(reps: tuple[Rep, ...]) -> tuple[list[str], list[dict[str, object]]]:
    """Columns and rows of the per-rep table; metric columns are the union over reps, sorted."""
    metric_names = sorted({name for rep in reps for name in rep.metrics})
    columns = [*REP_TIME_COLUMNS, *metric_names, "judgeable", "faults", "cues", "not_judged"]
    rows = []
    for rep in reps:
        row: dict[str, object] = {
            "rep": rep.index, "start_s": round(rep.start_s, 3), "bottom_s": round(rep.bottom_s, 3),
            "lockout_s": round(rep.lockout_s, 3), "end_s": round(rep.end_s, 3),
            "judgeable": rep.judgeable,
            "faults": ";".join(f.code.value for f in rep.faults),
            "cues": " | ".join(rep.cues),
            "not_judged": ";".join(code for code, c in rep.checks.items() if c.get("status") == "not_judged"),
        }
        for name in metric_names:
            value = to_plain(rep.metrics.get(name))
            row[name] = "" if value is None else round(float(value), 3)
        rows.append(row)
    return columns, rows


def write_reps_csv(reps: tuple[Rep, ...], path: Path) -> None:
    columns, rows = rep_rows(reps)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
