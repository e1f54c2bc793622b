// The task list: filters, one page of tasks (newest first), paging by the API's cursors, and
// cancel buttons. Live changes update rows in place; a change that moves tasks between pages
// or filters (a new task, a status leaving the filter) reloads the page, at most once a second.

import { API, ApiError, requestJson } from "./api.js";
import { cancelWithConfirmation } from "./cancel.js";
import {
  CANCELLABLE, badge, el, progress, setBadge, setProgress, setTime, shortId, showError, timeago,
} from "./format.js";
import { markUnserved } from "./workers.js";

const RELOAD_GAP_MS = 1000;
const FILTER_DELAY_MS = 300;

const rows = new Map(); // task id -> {tr, task}
let state = { status: "", filter: "", limit: "25", next: "", previous: "" };
let page = null;
let loadSeq = 0;
let lastLoad = 0;
let reloadTimer = null;
let filterTimer = null;

const $ = (id) => document.getElementById(id);

function query(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state, ...extra })) if (v) q.set(k, v);
  return q;
}

function matches(task) {
  if (state.status && !state.status.split(",").includes(task.status)) return false;
  return !state.filter || task.name.toLowerCase().includes(state.filter.toLowerCase());
}

function label(task) {
  return `${task.name} ${task._id}`;
}

function cancelButton(task) {
  const button = el("button", {
    type: "button",
    className: "cancel",
    "aria-label": `Cancel ${label(task)}`,
    dataset: { focus: `cancel:${task._id}` },
  }, "Cancel");
  button.addEventListener("click", async () => {
    const updated = await cancelWithConfirmation(rows.get(task._id)?.task || task);
    if (updated) updateTask(updated);
  });
  return button;
}

function renderRow(task) {
  const link = el("a", { href: `#/task/${encodeURIComponent(task._id)}`, dataset: { focus: `link:${task._id}` } },
    el("span", { className: "name" }, task.name), " ", el("span", { className: "id" }, shortId(task._id)));
  const tr = el("tr", { dataset: { id: task._id, status: task.status } },
    el("td", { dataset: { label: "Task" }, className: "task" }, link),
    el("td", { dataset: { label: "Status" } }, badge(task.status)),
    el("td", { dataset: { label: "Progress" } }, progress(task, `Progress of ${label(task)}`)),
    el("td", { dataset: { label: "Created" } }, timeago(task.createdAt)),
    el("td", { dataset: { label: "Changed" } }, timeago(task.lastChanged)),
    el("td", { dataset: { label: "Failure" }, className: "reason" }, task.failReason),
    el("td", { className: "actions" }, CANCELLABLE.has(task.status) ? cancelButton(task) : null));
  rows.set(task._id, { tr, task });
  markUnserved(tr.children[1], task);
  return tr;
}

function fillRow(entry, task) {
  const { tr } = entry;
  entry.task = task;
  const cells = tr.children;
  tr.dataset.status = task.status;
  setBadge(cells[1].firstElementChild, task.status);
  markUnserved(cells[1], task);
  setProgress(cells[2].firstElementChild, task);
  setTime(cells[4].firstElementChild, task.lastChanged);
  cells[5].textContent = task.failReason;
  const actions = cells[6];
  const button = actions.querySelector("button.cancel");
  if (CANCELLABLE.has(task.status) && !button) actions.append(cancelButton(task));
  if (!CANCELLABLE.has(task.status) && button) {
    const hadFocus = document.activeElement === button;
    button.remove();
    if (hadFocus) cells[0].querySelector("a").focus();
  }
}

function render(body) {
  page = body;
  const focusKey = document.activeElement?.dataset?.focus;
  const shown = new Map(rows);
  rows.clear();
  const wanted = body.items.map((task) => {
    const entry = shown.get(task._id);
    if (!entry) return renderRow(task);
    rows.set(task._id, entry);
    fillRow(entry, task);
    return entry.tr;
  });
  // Move only the rows that moved: a row that stays where it was is never detached, so a
  // click that lands while the page reloads (a live change, a new filter) still reaches it
  // (a row replaced between mouse down and up would swallow the click).
  const tbody = $("rows");
  wanted.forEach((tr, i) => {
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
  });
  while (tbody.children.length > wanted.length) tbody.lastElementChild.remove();
  $("empty").hidden = body.items.length > 0;
  $("total").textContent = `${body.total} ${body.total === 1 ? "task" : "tasks"}`;
  $("newer").disabled = !body.previousCursor;
  $("older").disabled = !body.nextCursor;
  if (focusKey) document.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus();
}

async function load() {
  const seq = ++loadSeq;
  lastLoad = Date.now();
  $("tasks").setAttribute("aria-busy", "true"); // the rows shown are about to change
  try {
    const body = await requestJson(`${API}/tasks?${query()}`);
    if (seq !== loadSeq) return;
    render(body);
    showError("");
  } catch (error) {
    if (seq !== loadSeq || (error instanceof ApiError && error.status === 401)) return;
    showError(`Could not load tasks: ${error.message}`);
  } finally {
    if (seq === loadSeq) $("tasks").removeAttribute("aria-busy");
  }
}

/** Reload the current page soon, at most once per RELOAD_GAP_MS. */
export function reloadList() {
  if (reloadTimer || $("list-view").hidden) return; // a hidden list loads when it is shown
  const wait = Math.max(0, lastLoad + RELOAD_GAP_MS - Date.now());
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    load();
  }, wait);
}

/** A live change: update the row, or reload when the change belongs on this page. */
export function updateTask(task) {
  const entry = rows.get(task._id);
  if (entry) {
    fillRow(entry, task);
    if (!matches(task)) reloadList();
    return;
  }
  if (!page || state.next || state.previous || !matches(task)) return;
  const oldest = page.items.length ? page.items[page.items.length - 1].createdAt : 0;
  if (page.items.length < Number(state.limit) || task.createdAt >= oldest) reloadList();
}

/** Show the list for the hash's query (``status``, ``filter``, ``limit``, ``next``/``previous``). */
export function showList(params) {
  clearTimeout(filterTimer);
  state = {
    status: params.get("status") || "",
    filter: params.get("filter") || "",
    limit: params.get("limit") || "25",
    next: params.get("next") || "",
    previous: params.get("previous") || "",
  };
  $("f-status").value = state.status;
  if (document.activeElement !== $("f-name")) $("f-name").value = state.filter;
  $("f-limit").value = state.limit;
  load();
}

/** The hash that shows the list as it is now. */
export function listHash() {
  const q = query().toString();
  return q ? `#/?${q}` : "#/";
}

/** The set of served task types changed: mark or unmark queued rows. */
export function refreshUnservedRows() {
  for (const { tr, task } of rows.values()) markUnserved(tr.children[1], task);
}

export function clearList() {
  rows.clear();
  page = null;
  loadSeq += 1;
  $("tasks").removeAttribute("aria-busy");
  $("rows").replaceChildren();
  $("total").textContent = "";
}

function applyFilters() {
  clearTimeout(filterTimer);
  const wanted = { status: $("f-status").value, filter: $("f-name").value.trim(), limit: $("f-limit").value };
  if (Object.entries(wanted).every(([k, v]) => state[k] === v)) return; // keep the page
  state = { ...wanted, next: "", previous: "" };
  history.replaceState(null, "", `#/?${query()}`);
  load();
}

export function setUpList() {
  const form = $("filters");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    applyFilters();
  });
  form.addEventListener("change", (event) => {
    if (event.target.tagName === "SELECT") applyFilters();
  });
  $("f-name").addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilters, FILTER_DELAY_MS);
  });
  form.addEventListener("reset", () => setTimeout(applyFilters, 0));
  $("older").addEventListener("click", () => {
    if (page?.nextCursor) location.hash = `#/?${query({ next: page.nextCursor, previous: "" })}`;
  });
  $("newer").addEventListener("click", () => {
    if (page?.previousCursor) {
      location.hash = `#/?${query({ previous: page.previousCursor, next: "" })}`;
    }
  });
}
