// A task's log lines, followed while it runs: long polls of GET /tasks/{id}/logs with the
// `after` cursor and `wait`, which answers as soon as a new line exists or the task has ended.
// One follower at a time; leaving the view aborts its request.

import { ApiError, requestJson, taskPath } from "./api.js";
import { el, isoTime } from "./format.js";

const ABSENT = new Set([404, 405, 501]);
const LIMIT = 500; // lines per request
const WAIT_S = 25; // long-poll deadline: well under proxies' idle timeouts
const RETRY_MS = [1000, 2000, 5000, 10000, 30000];
const COLUMNS = ["Time", "Level", "Attempt", "Message"];

let follower = null;

const $ = (id) => document.getElementById(id);

function setState(text) {
  $("logs-state").textContent = text;
}

function lineRow(line) {
  const level = String(line.level || "");
  const [time, lvl, attempt, message] = COLUMNS;
  return el("tr", { dataset: { seq: line.seq, level } },
    el("td", { dataset: { label: time } }, isoTime(line.at, { clockOnly: true })),
    el("td", { dataset: { label: lvl }, className: `level l-${level.toLowerCase().replace(/[^a-z]/g, "")}` },
      level),
    el("td", { dataset: { label: attempt } }, String(line.attempt)),
    el("td", { dataset: { label: message }, className: "message" }, String(line.message)));
}

function emptyTable() {
  return el("table", { className: "history log", id: "log", hidden: true },
    el("caption", { className: "visually-hidden" }, "Log lines, oldest first"),
    el("thead", {}, el("tr", {}, ...COLUMNS.map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", { id: "log-lines" }));
}

function append(lines) {
  if (!lines.length) return;
  const scroller = $("logs-body");
  // Keep following the newest line only if the reader is already at the bottom.
  const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
  $("log-lines").append(...lines.map(lineRow));
  $("logs-empty").hidden = true;
  $("log").hidden = false;
  if (atBottom) scroller.scrollTop = scroller.scrollHeight;
}

function pause(state, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    state.controller.signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

function fetchPage(state) {
  const query = new URLSearchParams({ after: state.after, limit: LIMIT, wait: state.wait });
  return requestJson(`${taskPath(state.taskId, "logs")}?${query}`, { signal: state.controller.signal });
}

/** One request; false once following is over (the task ended and every line is shown). */
async function step(state) {
  const page = await fetchPage(state);
  if (state.stopped) return false;
  $("logs-panel").hidden = false; // the server keeps logs: show them
  append(page.items);
  state.after = page.next;
  const drained = page.items.length < LIMIT;
  state.wait = drained ? WAIT_S : 0; // a full page: fetch the rest at once
  if (page.finished && drained) {
    setState("The task has ended.");
    $("logs-empty").textContent = "No log lines.";
    return false;
  }
  setState("Following…");
  return true;
}

async function follow(state) {
  let failures = 0;
  while (!state.stopped) {
    try {
      if (!(await step(state))) return;
      failures = 0;
    } catch (error) {
      if (state.stopped || (error instanceof ApiError && error.status === 401)) return;
      if (error instanceof ApiError && ABSENT.has(error.status)) {
        $("logs-panel").hidden = true;
        return;
      }
      setState(`Could not load the log (${error.message}); retrying…`);
      await pause(state, RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
    }
  }
}

/** Show task ``taskId``'s log and follow it until the task ends. */
export function followLogs(taskId) {
  stopLogs();
  const state = { taskId, after: 0, wait: 0, stopped: false, controller: new AbortController() };
  follower = state;
  $("logs-body").replaceChildren(emptyTable(), el("p", { className: "none", id: "logs-empty" }, "No log lines yet."));
  setState("Loading…");
  follow(state);
}

/** Stop following (the view closed or another task opened). */
export function stopLogs() {
  if (follower) {
    follower.stopped = true;
    follower.controller.abort();
    follower = null;
  }
  $("logs-panel").hidden = true;
  $("logs-body").replaceChildren();
  setState("");
}
