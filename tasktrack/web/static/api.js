// The credential and every request made with it.
//
// The credential (an API key, or OAuth tokens) lives in memory and in sessionStorage, so it
// survives a reload of this tab but not the tab itself. It travels only in request headers,
// never in a URL; signing out forgets it and revokes the OAuth grant.

const STORAGE_KEY = "tasktrack.credential";
const TOKEN_PATH = "/auth/oauth2/token";
const REVOKE_PATH = "/auth/oauth2/revoke";
export const API = "/v2.0";

let credential = load();
let refreshing = null;
const signedOutListeners = [];
// Server clock minus client clock, in seconds, from the Date header of our responses.
let clockOffset = 0;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

function store(value) {
  credential = value;
  if (value) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(value));
  else sessionStorage.removeItem(STORAGE_KEY);
}

export const signedIn = () => credential !== null;
export const identity = () => (credential ? credential.label : "");
export const serverNow = () => Date.now() / 1000 + clockOffset;
export const onSignedOut = (listener) => signedOutListeners.push(listener);

/** The headers that authenticate a request, or an empty object. */
export function authHeaders() {
  if (!credential) return {};
  if (credential.kind === "key") return { "X-API-Key": credential.key };
  return { Authorization: `Bearer ${credential.access}` };
}

async function problemMessage(response) {
  try {
    const body = await response.json();
    return body.detail || body.error_description || body.error || response.statusText;
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

function noteClock(response) {
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) clockOffset = (date - Date.now()) / 1000;
}

/** fetch() with the credential; a 401 on a bearer token refreshes it once and retries. */
export async function request(path, { accept = "application/json", ...options } = {}) {
  const send = () =>
    fetch(path, {
      ...options,
      headers: { Accept: accept, ...authHeaders(), ...(options.headers || {}) },
      cache: "no-store",
      credentials: "omit",
    });
  let response = await send();
  if (response.status === 401 && credential?.kind === "bearer" && (await refresh())) {
    response = await send();
  }
  noteClock(response);
  if (response.status === 401) {
    forget("Your session has ended. Please sign in again.");
    throw new ApiError(401, "not signed in");
  }
  return response;
}

/** request(), expecting JSON; a non-2xx reply is an ApiError with the server's detail. */
export async function requestJson(path, options = {}) {
  const response = await request(path, options);
  if (!response.ok) throw new ApiError(response.status, await problemMessage(response));
  return response.json();
}

/** The path of a resource beside task ``id``, e.g. taskPath(id, "result"). */
export const taskPath = (id, tail) => `${API}/tasks/${encodeURIComponent(id)}/${tail}`;

async function tokenRequest(fields) {
  const response = await fetch(TOKEN_PATH, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(fields),
    cache: "no-store",
    credentials: "omit",
  });
  if (!response.ok) {
    const message = response.status === 404
      ? "This server does not offer password sign-in."
      : await problemMessage(response);
    throw new ApiError(response.status, message);
  }
  return response.json();
}

function bearer(tokens, label) {
  return {
    kind: "bearer",
    label,
    access: tokens.access_token,
    refresh: tokens.refresh_token || null,
  };
}

/** Exchange the refresh token for new tokens; false if that is not possible. */
export function refresh() {
  if (!credential?.refresh) return Promise.resolve(false);
  if (!refreshing) {
    const current = credential;
    refreshing = tokenRequest({ grant_type: "refresh_token", refresh_token: current.refresh })
      .then((tokens) => {
        if (credential === current) store(bearer(tokens, current.label));
        return true;
      })
      .catch(() => false)
      .finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function check() {
  const response = await fetch(`${API}/tasks?limit=1`, {
    headers: { Accept: "application/json", ...authHeaders() },
    cache: "no-store",
    credentials: "omit",
  });
  if (response.ok) return;
  const message = await problemMessage(response);
  store(null);
  throw new ApiError(response.status, response.status === 401 ? "That API key was not accepted." : message);
}

export async function signInWithKey(key) {
  store({ kind: "key", label: "API key", key });
  await check();
}

export async function signInWithPassword(username, password) {
  const tokens = await tokenRequest({ grant_type: "password", username, password });
  store(bearer(tokens, username));
}

function forget(reason) {
  if (!credential) return;
  store(null);
  for (const listener of signedOutListeners) listener(reason);
}

/** Forget the credential (and revoke the OAuth grant, best effort). */
export function signOut() {
  const token = credential?.kind === "bearer" ? credential.refresh || credential.access : null;
  forget("");
  if (token) {
    fetch(REVOKE_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }),
      credentials: "omit",
    }).catch(() => {});
  }
}
