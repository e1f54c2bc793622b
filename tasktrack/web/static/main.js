// The dashboard's entry point: sign-in and sign-out, the hash router (#/, #/task/{id},
// #/scheduled, #/overview, #/workers and #/schedules),
// the live stream, and the clock that keeps relative times current.

import {
  ApiError, identity, onSignedOut, signInWithKey, signInWithPassword, signOut, signedIn,
} from "./api.js";
import { clearDetail, refreshUnservedDetail, showDetail, update as updateDetail } from "./detail.js";
import { refreshEtas } from "./eta.js";
import { announce, refreshTimes, showError } from "./format.js";
import {
  clearList, listHash, refreshUnservedRows, reloadList, setUpList, showList, updateTask,
} from "./list.js";
import { startLive } from "./live.js";
import { showSchedules } from "./schedules.js";
import { hideOverview, overviewTaskChanged, setUpOverview, showOverview } from "./overview.js";
import { hideWorkers, onLiveTypes, showWorkers, startWorkers, stopWorkers } from "./workers.js";
import { setUpScheduled, showScheduled } from "./scheduled.js";

const TIME_REFRESH_MS = 5000;
const ETA_REFRESH_MS = 1000;
const VIEWS = ["signin", "list", "scheduled", "detail", "overview", "workers", "schedules"];
const LIVE_TEXT = { connecting: "Connecting…", live: "Live", offline: "Offline, retrying…" };

const $ = (id) => document.getElementById(id);
let live = null;

function setLiveState(state) {
  $("live").dataset.state = state;
  $("live-text").textContent = LIVE_TEXT[state];
}

function showView(name) {
  for (const view of VIEWS) $(`${view}-view`).hidden = view !== name;
  const tab = name === "detail" ? "list" : name;
  for (const link of document.querySelectorAll("#views a")) {
    if (link.dataset.view === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  if (name !== "overview") hideOverview();
  if (name !== "workers") hideWorkers();
}

function route() {
  if (!signedIn()) {
    showView("signin");
    return;
  }
  const hash = location.hash.replace(/^#/, "") || "/";
  const match = hash.match(/^\/task\/([0-9a-f]{24})$/);
  if (hash === "/schedules") {
    showView("schedules");
    clearDetail();
    showSchedules().catch((error) => showError(error.message));
  } else if (match) {
    $("back").href = listHash(); // back to the list as last shown
    showView("detail");
    showDetail(match[1]);
  } else if (hash === "/scheduled") {
    showView("scheduled");
    clearDetail();
    showScheduled();
  } else if (hash === "/overview" || hash === "/workers") {
    clearDetail();
    showView(hash.slice(1));
    if (hash === "/overview") showOverview();
    else showWorkers();
  } else {
    showView("list");
    clearDetail();
    const q = hash.indexOf("?");
    showList(new URLSearchParams(q >= 0 ? hash.slice(q + 1) : ""));
  }
}

function enterSession() {
  $("session").hidden = false;
  $("views").hidden = false;
  $("live").hidden = false;
  $("views").hidden = false;
  startWorkers();
  $("whoami").textContent = `Signed in with ${identity()}`;
  live = startLive({
    onTask(task) {
      updateTask(task);
      updateDetail(task);
      overviewTaskChanged(task);
    },
    onReload: reloadList,
    onState: setLiveState,
  });
  route();
}

function leaveSession(reason) {
  if (live) live.stop();
  live = null;
  stopWorkers();
  hideOverview();
  $("views").hidden = true;
  clearList();
  clearDetail();
  $("session").hidden = true;
  $("views").hidden = true;
  $("live").hidden = true;
  $("whoami").textContent = "";
  showError(reason);
  showView("signin");
  announce(reason || "Signed out.");
  (document.querySelector("#signin-form input[name=mode]:checked") || $("api-key")).focus();
}

function selectedMode() {
  return document.querySelector("#signin-form input[name=mode]:checked").value;
}

function showMode() {
  const password = selectedMode() === "password";
  $("key-fields").hidden = password;
  $("password-fields").hidden = !password;
}

async function submitSignIn(event) {
  event.preventDefault(); // never a native submit: the secret stays out of URLs and history
  const message = $("signin-error");
  message.hidden = true;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    if (selectedMode() === "key") {
      const key = $("api-key").value.trim();
      if (!key) throw new ApiError(0, "Enter an API key.");
      await signInWithKey(key);
    } else {
      const username = $("username").value.trim();
      const password = $("password").value;
      if (!username || !password) throw new ApiError(0, "Enter your e-mail and password.");
      await signInWithPassword(username, password);
    }
    $("api-key").value = "";
    $("password").value = "";
    showError("");
    enterSession();
    announce("Signed in.");
    $("main").focus();
  } catch (error) {
    message.textContent = error instanceof ApiError ? error.message : `Sign-in failed: ${error.message}`;
    message.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function start() {
  setUpList();
  setUpOverview();
  onLiveTypes(() => {
    refreshUnservedRows();
    refreshUnservedDetail();
  });
  setUpScheduled();
  $("signin-form").addEventListener("submit", submitSignIn);
  for (const radio of document.querySelectorAll("#signin-form input[name=mode]")) {
    radio.addEventListener("change", showMode);
  }
  $("sign-out").addEventListener("click", () => signOut());
  onSignedOut(leaveSession);
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => live?.kick());
  setInterval(() => refreshTimes(), TIME_REFRESH_MS);
  setInterval(() => refreshEtas(), ETA_REFRESH_MS);
  showMode();
  if (signedIn()) enterSession();
  else showView("signin");
}

start();
