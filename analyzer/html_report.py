"""``report.html``: one page an athlete opens in any browser.

The annotated video (``annotated.mp4`` beside the page), a table of reps with their cues (a click seeks
the video to that rep), and angle-time plots with each rep's window shaded. Plots are inline SVG and
the page has no external scripts, fonts or styles, so it works offline and from a file:// URL.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from analyzer.report import shown
from analyzer.types import Report

PLOT_WIDTH, PLOT_HEIGHT, MARGIN = 720, 150, 36
MAX_POINTS = 600  # plots are decimated to this many points: enough for a smooth line, small page


def _polyline(t: np.ndarray, y: np.ndarray, t_range: tuple[float, float], y_range: tuple[float, float]) -> str:
    """SVG path data for y(t); NaN samples break the line."""
    (t0, t1), (y0, y1) = t_range, y_range
    sx = (PLOT_WIDTH - 2 * MARGIN) / max(t1 - t0, 1e-9)
    sy = (PLOT_HEIGHT - 2 * MARGIN) / max(y1 - y0, 1e-9)
    step = max(1, len(t) // MAX_POINTS)
    parts, pen_down = [], False
    for ti, yi in zip(t[::step], y[::step], strict=True):
        if not np.isfinite(yi):
            pen_down = False
            continue
        x = MARGIN + (ti - t0) * sx
        yy = PLOT_HEIGHT - MARGIN - (yi - y0) * sy
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{yy:.1f}")
        pen_down = True
    return " ".join(parts)


def angle_plot_svg(
    title: str, t: np.ndarray, y: np.ndarray, windows: Sequence[tuple[float, float]], unit: str = "deg"
) -> str:
    """One inline SVG plot of a per-frame series with rep windows shaded."""
    finite = y[np.isfinite(y)]
    if len(t) < 2 or not len(finite):
        return f'<p class="muted">{html.escape(title)}: not measured in this clip.</p>'
    t_range = (float(t[0]), float(t[-1]))
    lo, hi = float(np.min(finite)), float(np.max(finite))
    pad = max(5.0, 0.1 * (hi - lo))
    y_range = (lo - pad, hi + pad)
    sx = (PLOT_WIDTH - 2 * MARGIN) / max(t_range[1] - t_range[0], 1e-9)
    shades = "".join(
        f'<rect x="{MARGIN + (a - t_range[0]) * sx:.1f}" y="{MARGIN / 2}" width="{max((b - a) * sx, 1):.1f}" '
        f'height="{PLOT_HEIGHT - 1.5 * MARGIN}" class="rep"><title>rep {i + 1}</title></rect>'
        for i, (a, b) in enumerate(windows)
    )
    return (
        f'<svg viewBox="0 0 {PLOT_WIDTH} {PLOT_HEIGHT}" role="img" aria-label="{html.escape(title)}">'
        f"{shades}"
        f'<text x="{MARGIN}" y="14" class="title">{html.escape(title)} ({unit})</text>'
        f'<text x="4" y="{MARGIN + 4}" class="tick">{y_range[1]:.0f}</text>'
        f'<text x="4" y="{PLOT_HEIGHT - MARGIN}" class="tick">{y_range[0]:.0f}</text>'
        f'<text x="{PLOT_WIDTH - MARGIN}" y="{PLOT_HEIGHT - 8}" class="tick">{t_range[1]:.1f} s</text>'
        f'<path d="{_polyline(t, y, t_range, y_range)}" class="line"/></svg>'
    )


STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:16px;color:#222}
h1{font-size:22px} .muted{color:#777} video{width:100%;max-height:70vh;background:#000}
table{border-collapse:collapse;width:100%} td,th{padding:6px 8px;border-bottom:1px solid #ddd;text-align:left}
tr.rep-row{cursor:pointer} tr.rep-row:hover{background:#f3f7ff} tr.flagged td:first-child{border-left:4px solid #d33}
.warn{background:#fff6e0;padding:8px;border-radius:4px} svg{width:100%;height:auto;background:#fafafa;margin:6px 0}
svg .rep{fill:#dbe8ff;stroke:#fff;stroke-width:2} svg .line{fill:none;stroke:#1a5fd0;stroke-width:1.6}
svg .title{font-size:12px;fill:#333}
svg .tick{font-size:10px;fill:#777}
"""

SEEK_SCRIPT = """
document.querySelectorAll('tr.rep-row').forEach(function (row) {
  row.addEventListener('click', function () {
    var v = document.getElementById('video');
    if (v) { v.currentTime = parseFloat(row.dataset.start); v.play(); }
  });
});
"""


def render_html(report: Report, series: Mapping[str, tuple[np.ndarray, np.ndarray]], video_name: str | None) -> str:
    """The page as a string. ``series`` maps a plot title to (t, values in degrees)."""
    clip = report.clip
    title = f"{clip.get('file', 'clip')}: {len(report.reps)} rep(s)"
    rows = []
    for rep in report.reps:
        m = rep.metrics
        faults = ", ".join(
            f"{f.code.value.replace('_', ' ')} ({f.measured:.3g} vs {f.threshold:.3g} {f.unit})" for f in rep.faults
        ) or ("not judged: " + rep.not_judged_reason if not rep.judgeable else "none")
        cues = "<br>".join(html.escape(c) for c in rep.cues) or '<span class="muted">-</span>'
        depth = shown(m.get("trunk_incline_max_deg"), ".0f", "deg")
        speed = next((shown(v, ".2f", name.removeprefix("bar_speed_peak_").replace("_per_", "/"))
                      for name, v in m.items() if name.startswith("bar_speed_peak_")), shown(None))
        rows.append(
            f'<tr class="rep-row{" flagged" if rep.faults else ""}" data-start="{rep.start_s:.3f}">'
            f"<td>{rep.index}</td><td>{rep.start_s:.1f}-{rep.end_s:.1f} s</td>"
            f"<td>{html.escape(depth)}</td><td>{html.escape(shown(m.get('descent_s')))} / "
            f"{html.escape(shown(m.get('ascent_s')))}</td><td>{html.escape(speed)}</td><td>{html.escape(faults)}</td>"
            f"<td>{cues}</td></tr>"
        )
    windows = [(r.start_s, r.end_s) for r in report.reps]
    plots = "".join(angle_plot_svg(name, t, y, windows) for name, (t, y) in series.items())
    warnings = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in report.warnings)
    video = (
        f'<video id="video" src="{html.escape(video_name)}" controls playsinline preload="metadata"></video>'
        if video_name else '<p class="muted">No annotated video was made for this run (--no-video).</p>'
    )
    exercise = report.exercise.get("recognized") or report.exercise.get("rules", "")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{html.escape(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="muted">{html.escape(str(exercise))} &middot; {clip.get('width')}x{clip.get('height')} &middot;
{clip.get('duration_s', 0):.1f} s &middot; hinge-analyzer {html.escape(str(report.provenance.get('version', '')))}</p>
{warnings}
{video}
<h2>Reps</h2>
<table><thead><tr><th>#</th><th>time</th><th>depth</th><th>down / up</th><th>peak bar speed</th><th>flags</th>
<th>cues</th></tr></thead>
<tbody>{''.join(rows) or '<tr><td colspan="7">No reps found.</td></tr>'}</tbody></table>
<p class="muted">Click a rep to play it. Depth is the trunk's peak inclination from vertical. Bar speed is
measured from {html.escape(str(report.summary.get("bar_speed_source") or "the wrists"))}.</p>
<h2>Angles over time</h2>
{plots}
<script>{SEEK_SCRIPT}</script>
</body></html>
"""


def write_html(report: Report, series: Mapping[str, tuple[np.ndarray, np.ndarray]], path: Path,
               video_name: str | None) -> None:
    path.write_text(render_html(report, series, video_name), encoding="utf-8")
