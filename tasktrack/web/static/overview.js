// The overview (GET /v2.0/overview): tasks finished per bucket (stacked bars: done, error,
// cancelled), queue depth over time (lines: queued, running) and run-time percentiles per
// task type. SVG drawn by hand (no library, nothing fetched): a few dozen elements per chart.
// Live: read again every 10 s while shown, and soon after a task finishes (at most 1/s).

import { API, ApiError, requestJson } from "./api.js";
import { TERMINAL, duration, el, showError } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const REFRESH_MS = 10000;
const SOON_MS = 1000;
const W = 600;
const H = 180;
const PAD = { left: 34, right: 8, top: 8, bottom: 20 };

let shown = false;
let timer = null;
let soon = null;
let seq = 0;

const $ = (id) => document.getElementById(id);

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

const clock = (seconds) => new Date(seconds * 1000).toTimeString().slice(0, 5);

function frame(label, max, from, to) {
  const bottom = H - PAD.bottom;
  return [
    svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: PAD.top, y2: PAD.top }),
    svg("line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: bottom, y2: bottom }),
    svg("text", { x: PAD.left - 4, y: PAD.top + 8, "text-anchor": "end" }, String(max)),
    svg("text", { x: PAD.left - 4, y: bottom, "text-anchor": "end" }, "0"),
    svg("text", { x: PAD.left, y: H - 4 }, clock(from)),
    svg("text", { x: W - PAD.right, y: H - 4, "text-anchor": "end" }, clock(to)),
  ];
}

function chart(label, children) {
  return svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label },
    svg("title", {}, label), ...children);
}

function finishedChart(body) {
  const buckets = body.finished;
  const max = headroom(Math.max(...buckets.map((b) => b.done + b.error + b.cancelled)));
  const width = (W - PAD.left - PAD.right) / buckets.length;
  const scale = (H - PAD.top - PAD.bottom) / max;
  const bars = [];
  buckets.forEach((b, i) => {
    let y = H - PAD.bottom;
    for (const status of ["done", "error", "cancelled"]) {
      if (!b[status]) continue;
      const h = b[status] * scale;
      y -= h;
      bars.push(svg("rect", {
        class: `b-${status}`, x: PAD.left + i * width + 0.5, y, width: Math.max(width - 1, 1), height: h,
        "data-at": b.at, "data-status": status, "data-count": b[status],
      }, svg("title", {}, `${clock(b.at)}: ${b[status]} ${status}`)));
    }
  });
  const last = buckets[buckets.length - 1];
  const label = `Tasks finished per ${per(body.bucketSeconds)}`;
  return chart(label, [...frame(label, max, buckets[0].at, last.at + body.bucketSeconds), ...bars]);
}

function depthChart(body) {
  const points = body.queueDepth;
  const max = headroom(Math.max(...points.map((p) => Math.max(p.queued, p.running))));
  // The samples start when this server process started keeping them: draw what exists.
  const from = Math.max(body.since, Math.min(points[0].at, body.until - 60));
  const span = Math.max(body.until - from, 1);
  const x = (at) => PAD.left + ((at - from) / span) * (W - PAD.left - PAD.right);
  const y = (n) => H - PAD.bottom - (n / max) * (H - PAD.top - PAD.bottom);
  const lines = ["queued", "running"].map((key) => {
    const coords = points.map((p) => `${x(p.at).toFixed(1)},${y(p[key]).toFixed(1)}`);
    if (coords.length === 1) coords.unshift(`${PAD.left},${coords[0].split(",")[1]}`);
    return svg("polyline", { class: `l-${key}`, points: coords.join(" "), "data-series": key });
  });
  return chart("Queue depth: queued and running tasks", [...frame("", max, from, body.until), ...lines]);
}

/** A scale top a little above ``n`` (at least 1), so the highest value stays visible. */
const headroom = (n) => Math.max(1, Math.ceil(n * 1.15));

function per(seconds) {
  return seconds === 60 ? "minute" : `${Math.round(seconds / 60)} minutes`;
}

function legend(...keys) {
  return el("p", { className: "legend" }, ...keys.map((k) => el("span", { className: `k-${k}` }, k)));
}

function durationsTable(rows) {
  if (!rows.length) return el("p", { className: "empty" }, "No task finished done in this window.");
  const head = ["Task type", "Done", "p50", "p90", "p99", "Max"];
  return el("table", { className: "history", id: "durations" },
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...rows.map((d) => el("tr", { dataset: { name: d.name } },
      el("td", {}, d.name), el("td", {}, String(d.count)),
      ...[d.p50Ms, d.p90Ms, d.p99Ms, d.maxMs].map((ms) => el("td", {}, duration(ms)))))));
}

function render(body) {
  const sum = (key) => body.finished.reduce((n, b) => n + b[key], 0);
  const window = body.hours === 1 ? "the last hour" : `the last ${body.hours} hours`;
  $("o-finished-title").textContent = `Tasks finished per ${per(body.bucketSeconds)}`;
  $("o-finished").replaceChildren(finishedChart(body), legend("done", "error", "cancelled"));
  $("o-finished-summary").textContent =
    `In ${window}: ${sum("done")} done, ${sum("error")} failed, ${sum("cancelled")} cancelled.`;
  const now = body.queueDepth[body.queueDepth.length - 1];
  $("o-depth").replaceChildren(depthChart(body), legend("queued", "running"));
  $("o-depth-summary").textContent = `Now: ${now.queued} queued, ${now.running} running.`;
  $("o-durations").replaceChildren(durationsTable(body.durations));
  $("o-updated").textContent = `Updated ${clock(body.until)}`;
}

async function load() {
  const mine = ++seq;
  try {
    const body = await requestJson(`${API}/overview?hours=${encodeURIComponent($("o-hours").value)}`);
    if (mine === seq && shown) render(body);
  } catch (error) {
    if (mine !== seq || (error instanceof ApiError && error.status === 401)) return;
    showError(`Could not load the overview: ${error.message}`);
  }
}

export function showOverview() {
  shown = true;
  clearInterval(timer);
  timer = setInterval(load, REFRESH_MS);
  load();
}

export function hideOverview() {
  shown = false;
  clearInterval(timer);
  timer = null;
  seq += 1;
}

/** A live change: a task that was created or finished moves the charts: read them soon. */
export function overviewTaskChanged(task) {
  if (!shown || soon || !(TERMINAL.has(task.status) || task.status === "queued")) return;
  soon = setTimeout(() => {
    soon = null;
    load();
  }, SOON_MS);
}

export function setUpOverview() {
  $("o-hours").addEventListener("change", load);
}
