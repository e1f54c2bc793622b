// What happened to a task once it ran: its result, its attempts, its re-run links, and the
// Re-run button. Each panel comes from its own resource beside the task; a server without that
// resource (404/405/501) hides the panel, so the page works against older servers too.

import { ApiError, requestJson, taskPath } from "./api.js";
import { announce, duration, el, isoTime, showError } from "./format.js";

const ABSENT = new Set([404, 405, 501]);
const ATTEMPT_COLUMNS = ["Attempt", "Worker", "Started", "Ended", "Duration", "Outcome", "Reason"];
// Outcomes borrow the status badges' colours: the outcome is always written out as well.
const OUTCOME_STYLE = {
  running: "active", done: "done", error: "error", timeout: "error", lost: "error",
  cancelled: "cancelled", released: "queued",
};

let shown = { id: null, key: null }; // the task whose panels are shown, and its state then
let generation = 0; // bumped on every load, so a late reply never paints over a newer one

const $ = (id) => document.getElementById(id);

function showPanel(name, ...children) {
  $(`${name}-body`).replaceChildren(...children);
  $(`${name}-panel`).hidden = false;
}

function hidePanel(name) {
  $(`${name}-panel`).hidden = true;
  $(`${name}-body`).replaceChildren();
}

/** GET a resource beside the task: {body} or {status, message}; a 401 is rethrown. */
async function fetchBeside(id, tail) {
  try {
    return { body: await requestJson(taskPath(id, tail)) };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status === 401) throw error;
    return { status: error.status, message: error.message };
  }
}

function none(text) {
  return el("p", { className: "none" }, text);
}

function resultView(result) {
  if (result.status === "error") {
    return el("p", {}, "Failed: ",
      el("span", { className: "reason", id: "result-reason" }, result.failReason || "no reason given"));
  }
  if (result.status === "cancelled") return none("Cancelled: no result.");
  if (result.result === null) return none("No result: the handler returned nothing.");
  return el("pre", { className: "data", id: "result-value", tabindex: "0", "aria-label": "result" },
    JSON.stringify(result.result, null, 2));
}

function cell(label, ...content) {
  return el("td", { dataset: { label } }, ...content);
}

function outcomeBadge(outcome) {
  const style = OUTCOME_STYLE[outcome] || "queued";
  return el("span", { className: `badge s-${style}`, dataset: { outcome } }, outcome);
}

function attemptRow(attempt) {
  const [n, worker, started, ended, took, outcome, reason] = ATTEMPT_COLUMNS;
  return el("tr", { dataset: { attempt: attempt.attempt, outcome: attempt.outcome } },
    cell(n, String(attempt.attempt)),
    cell(worker, el("code", {}, attempt.workerId || "–")),
    cell(started, isoTime(attempt.startedAt)),
    cell(ended, attempt.endedAt ? isoTime(attempt.endedAt) : none("running")),
    cell(took, duration(attempt.durationMs)),
    cell(outcome, outcomeBadge(attempt.outcome)),
    cell(reason, el("span", { className: "reason" }, attempt.reason || "")));
}

function attemptsView(page) {
  if (!page.items.length) return none("Not run yet.");
  return el("table", { className: "history", id: "attempts" },
    el("caption", { className: "visually-hidden" }, "Attempts, oldest first"),
    el("thead", {}, el("tr", {}, ...ATTEMPT_COLUMNS.map((c) => el("th", { scope: "col" }, c)))),
    el("tbody", {}, ...page.items.map(attemptRow)));
}

function taskLink(id) {
  return el("a", { href: `#/task/${id}`, className: "task-link" }, el("code", {}, id));
}

function linksView(details) {
  const reruns = details.reruns || [];
  const parts = [];
  if (details.rerunOf) parts.push(el("p", { id: "rerun-of" }, "Re-run of ", taskLink(details.rerunOf)));
  if (reruns.length) {
    parts.push(el("p", {}, "Re-run as:"),
      el("ul", { className: "reruns", id: "reruns" }, ...reruns.map((id) => el("li", {}, taskLink(id)))));
  }
  return parts;
}

function paintResult(reply) {
  if (reply.body) showPanel("result", resultView(reply.body));
  else if (reply.status === 409) showPanel("result", none("Not finished yet."));
  else if (ABSENT.has(reply.status)) hidePanel("result");
  else showPanel("result", none(`Could not load the result: ${reply.message}`));
}

function paintAttempts(reply) {
  if (reply.body) showPanel("attempts", attemptsView(reply.body));
  else if (ABSENT.has(reply.status)) hidePanel("attempts");
  else showPanel("attempts", none(`Could not load the attempts: ${reply.message}`));
}

function paintLinks(reply) {
  const parts = reply.body ? linksView(reply.body) : [];
  if (parts.length) showPanel("links", ...parts);
  else hidePanel("links");
}

// What, in a task's 13 fields, tells that its result, attempts or links may have changed.
const stateKey = (task) => `${task.status}|${task.lastRunAt}|${task.lastFinishedAt}`;

async function load(task) {
  const seq = ++generation;
  shown = { id: task._id, key: stateKey(task) };
  const tails = ["result", "attempts", "details"];
  try {
    const replies = await Promise.all(tails.map((tail) => fetchBeside(task._id, tail)));
    if (seq !== generation) return;
    paintResult(replies[0]);
    paintAttempts(replies[1]);
    paintLinks(replies[2]);
  } catch (error) {
    if (seq === generation && !(error instanceof ApiError)) {
      showPanel("result", none(`Could not load the task's history: ${error.message}`));
    }
  }
}

/** Show the panels of ``task`` (called when its detail view opens). */
export function showHistory(task) {
  clearHistory();
  return load(task);
}

/** A live change of the task shown: reload the panels if it started, ended or ran again. */
export function refreshHistory(task) {
  if (shown.id === task._id && shown.key !== stateKey(task)) load(task);
}

export function clearHistory() {
  generation += 1;
  shown = { id: null, key: null };
  for (const name of ["result", "attempts", "links"]) hidePanel(name);
}

/** POST .../rerun for a finished task, then open the new task (its view links back). */
export async function rerun(task, button) {
  button.disabled = true;
  try {
    const created = await requestJson(taskPath(task._id, "rerun"), { method: "POST" });
    announce(`Re-run created: task ${created._id}.`);
    location.hash = `#/task/${created._id}`;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      showError(`Could not re-run the task: ${error.message}`);
    }
  } finally {
    button.disabled = false;
  }
}
