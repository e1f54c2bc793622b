// The worker registry (GET /v2.0/workers): the Workers view, and the set of task types some
// live worker serves, so queued tasks nobody will run say so instead of waiting silently.
// Read every 5 s while signed in; a server without the resource (404) shows no warnings.

import { API, ApiError, requestJson } from "./api.js";
import { duration, el, showError } from "./format.js";

const REFRESH_MS = 5000;

let liveTypes = null; // Set of task types, or null while unknown
let last = null; // the last /workers body
let timer = null;
let shown = false;
const listeners = [];

const $ = (id) => document.getElementById(id);

/** True when ``task`` is queued and no live worker serves its type (known only). */
export function unserved(task) {
  return liveTypes !== null && task.status === "queued" && !liveTypes.has(task.name);
}

export const unservedText = (name) =>
  `No live worker serves task type ${name}: this task stays queued until one that does starts.`;

/** Call ``listener()`` whenever the set of served types may have changed. */
export const onLiveTypes = (listener) => listeners.push(listener);

/** The "no live worker" note beside a status badge: added, kept or removed in ``cell``. */
export function markUnserved(cell, task) {
  const note = cell.querySelector(".unserved");
  if (unserved(task) && !note) {
    cell.append(el("span", { className: "unserved", title: unservedText(task.name) }, "no live worker"));
  } else if (!unserved(task) && note) note.remove();
}

async function refresh() {
  try {
    last = await requestJson(`${API}/workers`);
    liveTypes = new Set(last.liveTaskTypes || []);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && error.status === 404) liveTypes = null; // older server
    else if (shown) showError(`Could not load workers: ${error.message}`);
  }
  for (const listener of listeners) listener();
  if (shown) render();
}

export function startWorkers() {
  stopWorkers();
  refresh();
  timer = setInterval(refresh, REFRESH_MS);
}

export function stopWorkers() {
  clearInterval(timer);
  timer = null;
  liveTypes = null;
  last = null;
}

function ago(iso) {
  if (!iso) return "–";
  const ms = Date.now() - Date.parse(iso);
  return ms < 2000 ? "just now" : `${duration(ms)} ago`;
}

function workerRow(w) {
  const running = w.runningAttempts.length
    ? el("span", {}, `${w.running} / ${w.concurrency} `, ...w.runningAttempts.map((a) =>
      el("a", { href: `#/task/${encodeURIComponent(a.taskId)}`, className: "id" }, `…${a.taskId.slice(-6)} `)))
    : `${w.running} / ${w.concurrency}`;
  return el("tr", { dataset: { id: w.id, state: w.state } },
    el("td", { dataset: { label: "Worker" } }, el("code", {}, w.id)),
    el("td", { dataset: { label: "State" } }, el("span", { className: `w-${w.state}` }, w.state)),
    el("td", { dataset: { label: "Host" } }, `${w.host} (pid ${w.pid})`),
    el("td", { dataset: { label: "Running" } }, running),
    el("td", { dataset: { label: "Queues" } }, w.queues.join(", ")),
    el("td", { dataset: { label: "Task types" } }, w.taskTypes.join(", ")),
    el("td", { dataset: { label: "Started" } }, ago(w.startedAt)),
    el("td", { dataset: { label: "Heartbeat" } }, w.stoppedAt ? `stopped ${ago(w.stoppedAt)}` : ago(w.lastHeartbeatAt)));
}

function render() {
  if (!last) {
    $("w-summary").textContent = liveTypes === null ? "" : "Loading…";
    $("w-body").replaceChildren(el("p", { className: "empty" }, liveTypes === null
      ? "This server does not list its workers." : "Loading…"));
    return;
  }
  const live = last.items.filter((w) => w.state === "live").length;
  $("w-summary").textContent = `${live} live of ${last.total}`;
  if (!last.items.length) {
    $("w-body").replaceChildren(el("p", { className: "empty" }, "No worker has registered: queued tasks will wait."));
    return;
  }
  const head = ["Worker", "State", "Host", "Running", "Queues", "Task types", "Started", "Heartbeat"];
  $("w-body").replaceChildren(el("table", { className: "tasks", id: "workers" },
    el("caption", { className: "visually-hidden" }, "Workers, most recent heartbeat first"),
    el("thead", {}, el("tr", {}, ...head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, ...last.items.map(workerRow))));
}

export function showWorkers() {
  shown = true;
  render();
  refresh();
}

export function hideWorkers() {
  shown = false;
}
