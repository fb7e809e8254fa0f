// The page's only way to the server: JSON calls and Server-Sent Event streams, with the API key when one is set.
const keyName = "rotary.apiKey";
const unauthorizedListeners = new Set();

export function apiKey() { return sessionStorage.getItem(keyName) || ""; }
export function setApiKey(key) { key ? sessionStorage.setItem(keyName, key) : sessionStorage.removeItem(keyName); }
export function onUnauthorized(listener) { unauthorizedListeners.add(listener); }

/// An answer of 4xx/5xx: the server's JSON error (`{"error": {message, type, param, code}}`).
export class ApiError extends Error {
  constructor(status, error) {
    super(error && error.message ? error.message : `HTTP ${status}`);
    this.status = status;
    this.type = error && error.type;
    this.param = error && error.param;
  }
}

function headers(hasBody) {
  const h = { Accept: "application/json" };
  if (hasBody) h["Content-Type"] = "application/json";
  const key = apiKey();
  if (key) h.Authorization = "Bearer " + key;
  return h;
}

async function failure(response) {
  let error = null;
  try { error = (await response.json()).error; } catch { /* not JSON: keep the status */ }
  if (response.status === 401) unauthorizedListeners.forEach((listener) => listener());
  return new ApiError(response.status, error);
}

/// GET (body undefined) or POST a JSON body; resolves to the parsed answer.
export async function call(path, body, { signal } = {}) {
  const response = await fetch(path, {
    method: body === undefined ? "GET" : "POST", headers: headers(body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body), signal,
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

/// POSTs a body with `stream: true` and calls `onEvent` with each event's JSON as it arrives, up to `[DONE]`.
/// An error the server sends as an event (after the stream began) is thrown as an ApiError.
export async function stream(path, body, onEvent, { signal } = {}) {
  const response = await fetch(path, {
    method: "POST", headers: { ...headers(true), Accept: "text/event-stream" },
    body: JSON.stringify({ ...body, stream: true }), signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const block = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      const event = JSON.parse(data);
      if (event.error) throw new ApiError(event.error.code || 500, event.error);
      onEvent(event);
    }
  }
}

/// Runs `work(signal)` so that a newer call of the same runner aborts the older one: slider moves answer in order.
export function latestOnly() {
  let controller = null;
  return async (work) => {
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    try {
      return await work(mine.signal);
    } finally {
      if (controller === mine) controller = null;
    }
  };
}

export function isAbort(error) { return error && error.name === "AbortError"; }
