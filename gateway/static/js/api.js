// Calling the gateway's public API: the key, error envelopes, and server-sent events over fetch().

const KEY_STORAGE = "audio-gateway.api-key";

export const BASE_URL = `${location.origin}/v1`;

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(value) {
  if (value) localStorage.setItem(KEY_STORAGE, value);
  else localStorage.removeItem(KEY_STORAGE);
}

/** An error whose message is the server's own (`error.message` of OpenAI's envelope). */
export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/** fetch() on the API with the key; a non-2xx answer is thrown as an ApiError. */
export async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = apiKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path.startsWith("http") ? path : `${BASE_URL}${path}`, { ...options, headers });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(`Cannot reach the server (${err.message}).`, 0);
  }
  if (!response.ok) throw new ApiError(await errorMessage(response), response.status);
  return response;
}

async function errorMessage(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && body.error && body.error.message) return `${body.error.message} (HTTP ${response.status})`;
  } catch (_) { /* not JSON: fall through */ }
  return `HTTP ${response.status}: ${text.slice(0, 300) || response.statusText}`;
}

/**
 * Read a text/event-stream body and call onEvent(object) for each `data:` payload.
 * EventSource cannot POST, so the body is read from fetch() directly. Comments, `event:`
 * lines and a trailing `data: [DONE]` are skipped; an `{"error": ...}` event is thrown.
 */
export async function readEvents(response, onEvent) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (value) buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      dispatch(buffer.slice(0, cut), onEvent);
      buffer = buffer.slice(cut + 2);
    }
    if (done) break;
  }
  if (buffer.trim()) dispatch(buffer, onEvent);
}

function dispatch(block, onEvent) {
  const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).replace(/^ /, "")).join("\n");
  if (!data || data === "[DONE]") return;
  const event = JSON.parse(data);
  if (event.error) throw new ApiError(event.error.message || "The stream ended with an error.", 0);
  onEvent(event);
}

/** Served model ids, each with its kind where the server says it (GET /v1/models + /health/ready). */
export async function servedModels() {
  const list = await (await api("/models")).json();
  let workers = {};
  try {
    const ready = await fetch(`${location.origin}/health/ready`);
    workers = (await ready.json()).models || {};
  } catch (_) { /* readiness is optional: fall back to the names */ }
  return list.data.map((m) => ({ id: m.id, kind: kindOf(m.id, workers), loaded: workers[m.id]?.loaded }));
}

function kindOf(id, workers) {
  if (workers[id]?.kind) return workers[id].kind;
  if (/tts|speech|piper/i.test(id)) return "speech";
  if (/whisper|transcri|diari/i.test(id)) return "transcription";
  return "unknown";
}

export const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage",
  "shimmer", "verse", "marin", "cedar"];

/** Voice ids for a speech model (GET /v1/audio/voices), or OpenAI's names where the server lists none. */
export async function voicesFor(model) {
  try {
    const response = await api(`/audio/voices?model=${encodeURIComponent(model)}`);
    const ids = ((await response.json()).data || []).map((v) => v.id);
    return ids.length ? ids : OPENAI_VOICES;
  } catch (_) {
    return OPENAI_VOICES;
  }
}
