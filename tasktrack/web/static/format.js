// Small DOM and formatting helpers. Task data only ever reaches the page as text nodes and
// attribute values (never parsed as HTML), so a task's name or data cannot inject markup.

import { serverNow } from "./api.js";
import { etaText, observe } from "./eta.js";

export const STATUSES = ["queued", "active", "done", "cancelling", "cancelled", "error"];
export const CANCELLABLE = new Set(["queued", "active"]);
export const TERMINAL = new Set(["done", "cancelled", "error"]);

/** el("a", {href: "#"}, "text", child): an element with attributes and children. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const shortId = (id) => `…${id.slice(-6)}`;

/** A status badge: the status as text (colour and icon are only a second cue). */
export function badge(status) {
  return el("span", { className: `badge s-${status}`, dataset: { status } }, status);
}

export function setBadge(node, status) {
  node.className = `badge s-${status}`;
  node.dataset.status = status;
  node.textContent = status;
}

/** A native <progress> (role progressbar) plus "3 / 6", labelled for assistive technology. */
export function progress(task, label) {
  const bar = el("progress", { "aria-label": label });
  const text = el("span", { className: "steps" });
  const eta = el("span", { className: "eta", dataset: { etaFor: task._id } });
  const node = el("span", { className: "progress" }, bar, text, eta);
  setProgress(node, task);
  return node;
}

export function setProgress(node, task) {
  const [bar, text, eta] = node.children;
  const total = task.totalStep;
  const done = task.status === "done";
  bar.max = total > 0 ? total : 1;
  bar.value = total > 0 ? Math.min(task.currentStep, total) : done ? 1 : 0;
  bar.setAttribute("aria-valuetext", total > 0 ? `${task.currentStep} of ${total} steps` : "no steps");
  text.textContent = total > 0 ? `${task.currentStep} / ${total}` : "–";
  observe(task);
  if (eta) eta.textContent = etaText(task._id);
}

const UNITS = [
  [60, "s", 1],
  [3600, "min", 60],
  [86400, "h", 3600],
  [86400 * 30, "d", 86400],
  [86400 * 365, "mo", 86400 * 30],
  [Infinity, "y", 86400 * 365],
];

/** "3 s ago", "5 min ago" for Unix seconds. */
export function relative(seconds) {
  const ago = Math.max(0, Math.round(serverNow() - seconds));
  if (ago < 2) return "just now";
  for (const [limit, unit, size] of UNITS) {
    if (ago < limit) return `${Math.floor(ago / size)} ${unit} ago`;
  }
  return "";
}

export const iso = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");

/** A <time> that timeago() keeps current. */
export function timeago(seconds) {
  return el("time", { datetime: iso(seconds), title: iso(seconds), dataset: { epoch: seconds } },
    relative(seconds));
}

export function setTime(node, seconds) {
  node.dataset.epoch = seconds;
  node.setAttribute("datetime", iso(seconds));
  node.title = iso(seconds);
  node.textContent = relative(seconds);
}

/** Refresh every relative time on the page (called every few seconds). */
export function refreshTimes(root = document) {
  for (const node of root.querySelectorAll("time[data-epoch]")) {
    const text = relative(Number(node.dataset.epoch));
    if (node.textContent !== text) node.textContent = text;
  }
}

/** Put a message in the polite live region, for screen-reader users. */
export function announce(message) {
  const region = document.getElementById("announce");
  region.textContent = "";
  setTimeout(() => { region.textContent = message; }, 50);
}

export function showError(message) {
  const banner = document.getElementById("error");
  banner.textContent = message || "";
  banner.hidden = !message;
}

/** "350 ms", "4.2 s", "3 min 5 s", "2 h 10 min" for a duration in milliseconds; "–" for none. */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.floor(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A <time> for an ISO 8601 string: the text ``full`` (default) or just the clock time. */
export function isoTime(text, { clockOnly = false } = {}) {
  const clock = clockOnly ? (String(text).match(/T([\d:.]+)/) || [])[1] : null;
  return el("time", { datetime: text, title: text }, clock || text);
}
