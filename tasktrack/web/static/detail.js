// One task: all 13 fields in the contract's order, `data` pretty-printed, a cancel button (a
// Re-run button once it has finished), the JSON, XML and CSV representations, and below them
// its result, re-run links, attempts and log (history.js, logs.js). Those are fetched with the credential header and
// opened as blob: URLs, so the credential never appears in a URL. Live changes re-render it.

import { API, ApiError, request, requestJson } from "./api.js";
import { cancelWithConfirmation } from "./cancel.js";
import { CANCELLABLE, TERMINAL, badge, el, iso, progress, showError, timeago } from "./format.js";
import { clearHistory, refreshHistory, rerun, showHistory } from "./history.js";
import { followLogs, stopLogs } from "./logs.js";
import { unserved, unservedText } from "./workers.js";

const FIELDS = [
  "name", "data", "status", "currentStep", "totalStep", "failReason", "lastRunAt",
  "lastFinishedAt", "_id", "createdAt", "lastChanged", "createdBy", "lastChangedBy",
];
const FORMATS = [
  { label: "JSON", accept: "application/json", type: "application/json" },
  { label: "XML", accept: "application/xml", type: "application/xml" },
  // text/plain so the browser shows the CSV rather than downloading it.
  { label: "CSV", accept: "text/csv", type: "text/plain;charset=utf-8" },
];

let current = null; // the task shown, or null
let loadSeq = 0;

const $ = (id) => document.getElementById(id);

function value(task, field) {
  const raw = task[field];
  switch (field) {
    case "data":
      return el("pre", { className: "data", id: "detail-data", tabindex: "0", "aria-label": "data" },
        JSON.stringify(raw, null, 2));
    case "status":
      return badge(raw);
    case "currentStep":
      return el("span", {}, String(raw), " ", progress(task, "Progress"));
    case "createdAt":
    case "lastChanged":
      return el("span", {}, el("code", {}, String(raw)), " · ", iso(raw), " · ", timeago(raw));
    case "failReason":
      return raw ? el("span", { className: "reason" }, raw) : el("span", { className: "none" }, "none");
    case "lastRunAt":
    case "lastFinishedAt":
      return raw ? el("span", {}, raw) : el("span", { className: "none" }, "not yet");
    default:
      return el("code", {}, String(raw));
  }
}

async function openAs(task, format) {
  try {
    const response = await request(`${API}/tasks/${encodeURIComponent(task._id)}`, {
      accept: format.accept,
    });
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    const blob = new Blob([await response.arrayBuffer()], { type: format.type });
    const url = URL.createObjectURL(blob);
    el("a", { href: url, target: "_blank", rel: "noopener" }).click();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      showError(`Could not fetch the ${format.label}: ${error.message}`);
    }
  }
}

function rerunButton() {
  const button = el("button", { type: "button", id: "detail-rerun" }, "Re-run");
  button.addEventListener("click", () => rerun(current, button));
  return button;
}

function render(task) {
  current = task;
  $("detail-title").textContent = `Task ${task.name}`;
  const formats = el("div", { className: "formats", role: "group", "aria-label": "Representations" },
    el("span", { className: "formats-label" }, "Open as"),
    ...FORMATS.map((format) => {
      const button = el("button", {
        type: "button", id: `open-${format.label.toLowerCase()}`, "aria-label": `Open as ${format.label}`,
      }, format.label);
      button.addEventListener("click", () => openAs(current, format));
      return button;
    }));
  const actions = [formats];
  if (CANCELLABLE.has(task.status)) {
    const cancel = el("button", { type: "button", className: "danger", id: "detail-cancel" },
      "Cancel task");
    cancel.addEventListener("click", async () => {
      const updated = await cancelWithConfirmation(current);
      if (updated) update(updated);
    });
    actions.push(cancel);
  }
  if (TERMINAL.has(task.status)) actions.push(rerunButton());
  const focused = $("detail-view").contains(document.activeElement) ? document.activeElement.id : "";
  $("detail-actions").replaceChildren(...actions);
  const list = el("dl", { className: "fields" });
  for (const field of FIELDS) {
    list.append(el("div", { className: "field-row" }, el("dt", {}, field), el("dd", {}, value(task, field))));
  }
  $("detail-body").replaceChildren(list);
  refreshUnservedDetail();
  if (focused) ($(focused) || $("detail-title")).focus();
}

/** Say so when the task shown is queued and no live worker serves its type. */
export function refreshUnservedDetail() {
  const banner = $("detail-unserved");
  const show = current !== null && unserved(current);
  banner.textContent = show ? unservedText(current.name) : "";
  banner.hidden = !show;
}

/** Show task ``id``; focus moves to its heading. */
export async function showDetail(id) {
  const seq = ++loadSeq;
  current = null;
  refreshUnservedDetail();
  $("detail-title").textContent = "Task";
  $("detail-actions").replaceChildren();
  $("detail-body").replaceChildren(el("p", { className: "loading" }, "Loading…"));
  clearHistory();
  stopLogs();
  try {
    const task = await requestJson(`${API}/tasks/${encodeURIComponent(id)}`);
    if (seq !== loadSeq) return;
    render(task);
    showError("");
    showHistory(task);
    followLogs(task._id);
  } catch (error) {
    if (seq !== loadSeq || (error instanceof ApiError && error.status === 401)) return;
    $("detail-body").replaceChildren(el("p", { className: "empty" }, error.message));
  }
  $("detail-title").focus();
}

/** A live change: re-render if it is the task shown. */
export function update(task) {
  if (!current || current._id !== task._id) return;
  render(task);
  refreshHistory(task);
}

export function clearDetail() {
  current = null;
  refreshUnservedDetail();
  loadSeq += 1;
  clearHistory();
  stopLogs();
  $("detail-actions").replaceChildren();
  $("detail-body").replaceChildren();
}
