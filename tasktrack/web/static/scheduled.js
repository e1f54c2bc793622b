// The "Scheduled" view (#/scheduled, issue 14): the organisation's queued tasks that wait for
// their runAt (or a retry's back-off), soonest first, from GET /scheduled-tasks. Read when
// shown and on "Refresh"; "Later →" follows the list's keyset pages.

import { API, requestJson, serverNow } from "./api.js";
import { el, iso, shortId, showError } from "./format.js";

const $ = (id) => document.getElementById(id);
let pages = [""]; // the `next` token of each page shown so far ("" = the first)
let loadSeq = 0;

/** "in 5 min", "in 3 h" (or "due now") for a future Unix time. */
function until(seconds) {
  const ahead = Math.round(seconds - serverNow());
  if (ahead < 1) return "due now";
  if (ahead < 60) return `in ${ahead} s`;
  if (ahead < 3600) return `in ${Math.floor(ahead / 60)} min`;
  if (ahead < 86400) return `in ${Math.floor(ahead / 3600)} h`;
  return `in ${Math.floor(ahead / 86400)} d`;
}

function renderRow(item) {
  const due = Date.parse(item.runAt) / 1000;
  const link = el("a", { href: `#/task/${encodeURIComponent(item._id)}` },
    el("span", { className: "name" }, item.name), " ", el("span", { className: "id" }, shortId(item._id)));
  return el("tr", { dataset: { id: item._id } },
    el("td", { dataset: { label: "Task" }, className: "task" }, link),
    el("td", { dataset: { label: "Due" } },
      el("time", { datetime: item.runAt, title: iso(due) }, until(due))),
    el("td", { dataset: { label: "Priority" } }, String(item.priority)),
    el("td", { dataset: { label: "Queue" } }, item.queue),
    el("td", { dataset: { label: "Kind" } }, item.attempts > 0 ? "retry" : "run later"));
}

async function load() {
  const seq = ++loadSeq;
  const token = pages[pages.length - 1];
  const query = new URLSearchParams({ limit: "25", ...(token ? { next: token } : {}) });
  try {
    const page = await requestJson(`${API}/scheduled-tasks?${query}`);
    if (seq !== loadSeq) return; // a newer load has started
    $("scheduled-rows").replaceChildren(...page.items.map(renderRow));
    $("scheduled-empty").hidden = page.items.length > 0;
    $("scheduled-later").disabled = !page.next;
    $("scheduled-later").dataset.next = page.next || "";
    $("scheduled-sooner").disabled = pages.length < 2;
    showError("");
  } catch (error) {
    if (seq === loadSeq) showError(`Could not load scheduled tasks: ${error.message}`);
  }
}

/** Show the first page (called by the router on #/scheduled). */
export function showScheduled() {
  pages = [""];
  load();
}

export function setUpScheduled() {
  $("scheduled-refresh").addEventListener("click", () => load());
  $("scheduled-later").addEventListener("click", () => {
    pages.push($("scheduled-later").dataset.next);
    load();
  });
  $("scheduled-sooner").addEventListener("click", () => {
    if (pages.length > 1) pages.pop();
    load();
  });
}
