// How long a running task has left, from its recent step rate (as tasktrack/client/eta.py).
//
// The rate is the steps made over the last 30 s of observations (at least the last two), so
// a task that speeds up or slows down is estimated by how it goes now. Before a second
// observation, the attempt's start (lastRunAt, at step 0: progress restarts per attempt)
// stands in for the first. Times are the server's clock (serverNow), like lastRunAt.

import { serverNow } from "./api.js";

const WINDOW_S = 30;
const estimates = new Map(); // task id -> {samples: [[t, step]], total, start}

/** Note a task's state; only an active task is estimated. */
export function observe(task) {
  if (task.status !== "active") {
    estimates.delete(task._id);
    return;
  }
  const now = serverNow();
  let e = estimates.get(task._id);
  if (!e) {
    e = { samples: [], total: 0, start: null };
    estimates.set(task._id, e);
  }
  const last = e.samples[e.samples.length - 1];
  if (last && task.currentStep < last[1]) e.samples = []; // a new attempt
  const newest = e.samples[e.samples.length - 1];
  if (!newest || newest[1] !== task.currentStep) e.samples.push([now, task.currentStep]);
  while (e.samples.length > 2 && e.samples[1][0] < now - WINDOW_S) e.samples.shift();
  e.total = task.totalStep;
  const started = task.lastRunAt ? Date.parse(task.lastRunAt) / 1000 : NaN;
  e.start = Number.isNaN(started) ? null : started;
}

/** Seconds left for task ``id``, or null while unknown. */
export function remaining(id) {
  const e = estimates.get(id);
  if (!e || !e.samples.length || e.total <= 0) return null;
  const [t1, s1] = e.samples[e.samples.length - 1];
  const [t0, s0] = e.samples.length > 1 ? e.samples[0] : [e.start, 0];
  if (t0 === null || s1 <= s0 || t1 <= t0) return null;
  const rate = (s1 - s0) / (t1 - t0);
  return Math.max((e.total - s1) / rate - (serverNow() - t1), 0);
}

/** "eta 0:42", "eta 1:05:00"; "" while unknown or not running. */
export function etaText(id) {
  const seconds = remaining(id);
  if (seconds === null) return "";
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `eta ${h}:${String(m).padStart(2, "0")}:${s}` : `eta ${m}:${s}`;
}

/** Redraw every ETA on the page (called every second, so they count down). */
export function refreshEtas(root = document) {
  for (const node of root.querySelectorAll(".eta[data-eta-for]")) {
    const text = etaText(node.dataset.etaFor);
    if (node.textContent !== text) node.textContent = text;
  }
}
