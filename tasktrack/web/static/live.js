// Live updates: one server-sent-events stream of our task changes (GET /v2.0/events).
//
// Read with fetch() and a stream reader rather than EventSource, because EventSource cannot
// send the credential header. The server ends a stream after a minute or when it shuts down
// ("bye"); we reconnect at once with the last resume point (?since=), and after an error with
// a growing delay (1 s doubling to 30 s, with jitter), so a down server is not hammered.

import { API, ApiError, request, signedIn } from "./api.js";

const MAX_DELAY_MS = 30000;

/**
 * Keep a stream open until stop() is called.
 * handlers: onTask(task), onReload() (the view must be fetched again), onState(state)
 * with state one of "connecting", "live", "offline".
 */
export function startLive({ onTask, onReload, onState }) {
  let controller = null;
  let stopped = false;
  let since = null;
  let failures = 0;
  let timer = null;
  let sawBye = false;

  function dispatch(kind, id, data) {
    if (id) since = id;
    if (kind === "bye") sawBye = true;
    else if (kind === "task") onTask(JSON.parse(data));
    else if (kind === "ready") {
      failures = 0;
      onState("live");
      if (!JSON.parse(data).resumed) onReload();
    } else if (kind === "reset") onReload();
  }

  async function read(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let kind = "message";
        let id = null;
        const data = [];
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":");
          if (colon === 0) continue; // a comment
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") kind = text;
          else if (field === "id") id = text;
          else if (field === "data") data.push(text);
        }
        dispatch(kind, id, data.join("\n"));
      }
    }
  }

  async function connect() {
    timer = null;
    if (stopped || !signedIn()) return;
    controller = new AbortController();
    const query = since ? `?since=${encodeURIComponent(since)}` : "";
    sawBye = false;
    try {
      const response = await request(`${API}/events${query}`, {
        accept: "text/event-stream",
        signal: controller.signal,
      });
      if (response.status === 400 && since) since = null; // a stale resume point
      else if (!response.ok) throw new ApiError(response.status, "events unavailable");
      else await read(response);
    } catch (error) {
      if (stopped || (error instanceof ApiError && error.status === 401)) return;
    }
    if (stopped) return;
    if (sawBye) {
      connect(); // a planned end: the server asked us to come back
      return;
    }
    failures += 1;
    onState(failures > 1 ? "offline" : "connecting");
    const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** (failures - 1));
    timer = setTimeout(connect, delay / 2 + Math.random() * (delay / 2));
  }

  onState("connecting");
  connect();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (controller) controller.abort();
    },
    /** Reconnect now (e.g. after the browser went back online). */
    kick() {
      if (timer) {
        clearTimeout(timer);
        connect();
      }
    },
  };
}
