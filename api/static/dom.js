// Small DOM and formatting helpers. Text always goes in through textContent, never innerHTML,
// so file names and comments typed by people cannot inject markup.

/**
 * Make an element: h("p", {class: "x", onclick: fn}, "text", child, [more, children]).
 * Attributes that are false/null/undefined are left out; `true` writes an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value == null) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value" || name === "checked" || name === "selected") {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Same as h() for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    el.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const isNumber = (x) => typeof x === "number" && Number.isFinite(x);

/** A measured value with sensible precision: 67.3, 1.13, 0.024. */
export function num(x) {
  if (!isNumber(x)) return "n/a";
  const a = Math.abs(x);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return x.toFixed(digits).replace("-", "\u2212");
}

/** A value with its unit: degrees get the ° sign, seconds an "s", anything else the unit in words. */
export function withUnit(x, unit) {
  if (!isNumber(x)) return "n/a";
  if (unit === "deg") return `${num(x)}\u00b0`;
  if (unit === "s") return `${num(x)} s`;
  return unit ? `${num(x)} ${unit}` : num(x);
}

export function seconds(x) {
  return isNumber(x) ? `${x.toFixed(2)} s` : "n/a";
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function shortDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

const FAULT_LABELS = {
  rounded_back: "Rounded back",
  hyperextended_lockout: "Leaning back at lockout",
  neck_craning: "Neck craning",
  neck_sagging: "Neck sagging",
  squatting_the_pull: "Squatting the pull",
  hips_rise_first: "Hips rise first",
  bar_drift: "Bar drifting forward",
  incomplete_lockout: "Incomplete lockout",
  uncontrolled_lowering: "Uncontrolled lowering",
};

export function faultLabel(code) {
  if (FAULT_LABELS[code]) return FAULT_LABELS[code];
  const words = String(code || "").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const EXERCISE_LABELS = {
  auto: "Recognise it for me",
  deadlift: "Deadlift",
  rdl: "Romanian deadlift",
  good_morning: "Good morning",
  kb_swing: "Kettlebell swing",
  single_leg_rdl: "Single-leg RDL",
  not_hinge: "Not a hinge",
};

export function exerciseLabel(code) {
  return EXERCISE_LABELS[code] || faultLabel(code);
}

/** The upload form's exercise choices, in the contract's order. */
export const EXERCISE_CHOICES = ["auto", "deadlift", "rdl", "good_morning", "kb_swing"];

export function bytes(n) {
  if (!isNumber(n)) return "";
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`;
  return `${n} B`;
}
