// Trend plots of one metric across sessions, drawn as inline SVG (no plotting library).
// Sessions are spaced evenly along x, oldest on the left: the order matters more than the gaps.

import { h, isNumber, s, shortDate } from "./dom.js";

const WIDTH = 320;
const HEIGHT = 140;
const PAD = { left: 42, right: 12, top: 12, bottom: 26 };

/** Round numbers for the y axis covering [lo, hi]. */
function niceTicks(lo, hi, count = 3, integer = false) {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * magnitude).find((m) => m >= raw) || raw;
  if (integer) step = Math.max(1, Math.ceil(step));
  const first = Math.floor(lo / step) * step;
  const ticks = [];
  for (let v = first; v <= hi + step * 0.5 && ticks.length < 8; v += step) ticks.push(Number(v.toPrecision(12)));
  return { ticks, decimals: Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) };
}

/**
 * One small line plot.
 * @param {object} spec
 * @param {string} spec.title what is plotted, with its unit, e.g. "Mean depth (deg)"
 * @param {{at: string, value: number|null, label: string}[]} spec.points oldest first; null values leave a gap
 * @param {(v: number) => string} spec.format how a value reads in a tooltip
 * @param {string} [spec.unit] suffix for the axis labels, e.g. "°"
 * @param {boolean} [spec.counts] whole numbers from 0 (e.g. flagged reps): the axis starts at 0 with integer ticks
 */
export function trendPlot({ title, points, format, unit = "", counts = false }) {
  const finite = points.filter((p) => isNumber(p.value));
  const figure = h("figure", { class: "trend" }, h("figcaption", {}, title));
  if (finite.length === 0) {
    figure.append(h("p", { class: "muted" }, "No finished sessions with this measure yet."));
    return figure;
  }
  const values = finite.map((p) => p.value);
  let lo = counts ? 0 : Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    hi += counts ? 1 : Math.max(1, Math.abs(hi) * 0.1);
    if (!counts) lo -= Math.max(1, Math.abs(lo) * 0.1);
  }
  const { ticks, decimals } = niceTicks(lo, hi, 3, counts);
  lo = Math.min(lo, ticks[0]);
  hi = Math.max(hi, ticks[ticks.length - 1]);

  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (points.length === 1 ? plotW / 2 : (i * plotW) / (points.length - 1));
  const y = (v) => PAD.top + plotH - ((v - lo) / (hi - lo)) * plotH;

  const summary = finite.map((p) => `${p.label}: ${format(p.value)}`).join("; ");
  const svg = s("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": `${title}, oldest to newest session. ${summary}`,
    preserveAspectRatio: "xMidYMid meet",
  });
  svg.append(s("title", {}, title));

  for (const t of ticks) {
    svg.append(s("line", { class: "grid", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(t), y2: y(t) }));
    svg.append(s("text", { class: "tick", x: PAD.left - 6, y: y(t) + 4, "text-anchor": "end" }, `${t.toFixed(decimals)}${unit}`));
  }
  svg.append(
    s("text", { class: "tick", x: x(0), y: HEIGHT - 8, "text-anchor": points.length === 1 ? "middle" : "start" },
      shortDate(points[0].at)),
  );
  if (points.length > 1) {
    svg.append(
      s("text", { class: "tick", x: x(points.length - 1), y: HEIGHT - 8, "text-anchor": "end" },
        shortDate(points[points.length - 1].at)),
    );
  }

  // Pen lifts at sessions without the measure, so a gap never looks like a trend.
  let path = "";
  let penDown = false;
  points.forEach((p, i) => {
    if (!isNumber(p.value)) {
      penDown = false;
      return;
    }
    path += `${penDown ? "L" : "M"}${x(i).toFixed(1)},${y(p.value).toFixed(1)} `;
    penDown = true;
  });
  svg.append(s("path", { class: "line", d: path.trim(), fill: "none" }));
  points.forEach((p, i) => {
    if (!isNumber(p.value)) return;
    svg.append(
      s("circle", { class: "dot", cx: x(i), cy: y(p.value), r: 3.5 }, s("title", {}, `${p.label}: ${format(p.value)}`)),
    );
  });
  figure.append(svg);
  return figure;
}
