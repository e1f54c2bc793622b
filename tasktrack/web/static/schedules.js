// The schedules page (#/schedules, issue 14): the periodic schedules of the signed-in
// organisation, each with its next and last run. Text goes in with textContent only.

import { API, requestJson } from "./api.js";

const $ = (id) => document.getElementById(id);

function cell(text) {
  const td = document.createElement("td");
  td.textContent = text;
  return td;
}

function lastRun(item) {
  const td = document.createElement("td");
  if (!item.lastRun) {
    td.textContent = "never";
    return td;
  }
  const link = document.createElement("a");
  link.href = `#/task/${item.lastTaskId}`;
  link.textContent = item.lastRun;
  td.append(link);
  return td;
}

export async function showSchedules() {
  const body = await requestJson(`${API}/schedules`);
  const rows = body.items.map((item) => {
    const tr = document.createElement("tr");
    tr.dataset.key = item.key;
    tr.append(cell(item.key), cell(item.task), cell(item.cron), cell(item.timezone),
      cell(item.nextRun), lastRun(item));
    return tr;
  });
  $("schedule-rows").replaceChildren(...rows);
  $("schedules-empty").hidden = rows.length > 0;
}
