// Live captions: the microphone through an AudioWorklet (pcm16 at 24 kHz) over the Realtime API's
// WebSocket (/v1/realtime?intent=transcription). The server's VAD cuts the speech into turns; the
// words of the turn being spoken appear as its interim deltas arrive, and each turn's final
// transcript replaces them when it completes.
//
// Browsers cannot set headers on a WebSocket: the key goes as the `openai-insecure-api-key.<key>`
// subprotocol, next to `realtime`, as OpenAI's own browser clients send it.

import { apiKey } from "./api.js";

const $ = (id) => document.getElementById(id);
const WORKLET = "/playground/js/pcm16-worklet.js";
const FINISH_TIMEOUT_MS = 15000; // after Stop, how long the last turns' transcripts are waited for

/** What the panel did; tests read it as window.playground.live. */
export const state = {
  running: false, // the microphone is streaming
  connected: false,
  sessionId: null,
  chunks: 0, // 100 ms appends sent
  deltas: 0,
  turns: [], // completed: {itemId, transcript, interim (what the deltas had shown before it completed)}
  errors: [],
};

let socket = null;
let audio = null; // {context, stream, node}
const lines = new Map(); // item id -> {element, interim}
const pending = new Set(); // committed item ids still waiting for their transcript
let speaking = null; // item id of the turn being spoken
let finishTimer = null;
let committing = false; // Stop sent a commit whose `committed` has not come back yet

export function settings() {
  return { model: $("live-model").value, language: $("live-language").value.trim().toLowerCase() };
}

export async function toggle() {
  if (state.running || socket) stop();
  else await start();
}

async function start() {
  hideError();
  const s = settings();
  Object.assign(state, { sessionId: null, chunks: 0, deltas: 0, turns: [], errors: [] });
  $("live-captions").replaceChildren();
  // made in the click: a context made later, after awaits, may be refused its audio
  const context = new AudioContext({ sampleRate: 24000 });
  setButton("starting");
  status("Asking for the microphone…");
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1 } });
  } catch (err) {
    context.close();
    setButton("idle");
    status("");
    return showError(`The microphone is not available: ${err.message}`);
  }
  audio = { context, stream, node: null };
  status("Connecting…");
  try {
    await connect(s);
    await context.audioWorklet.addModule(WORKLET);
    const node = new AudioWorkletNode(context, "pcm16-24k", { numberOfOutputs: 1 });
    node.port.onmessage = (e) => send({ type: "input_audio_buffer.append", audio: base64(e.data) }) && state.chunks++;
    context.createMediaStreamSource(stream).connect(node);
    node.connect(context.destination); // the processor writes no output: silence, but it keeps being pulled
    audio.node = node;
    await context.resume();
  } catch (err) {
    stopAudio();
    closeSocket();
    setButton("idle");
    status("");
    return showError(err.message);
  }
  state.running = true;
  setButton("running");
  status(`Listening (${s.model}). Speak; each pause ends a turn.`);
}

/** Open the WebSocket and configure the session; resolves on `session.updated`. */
function connect(s) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const key = apiKey();
  const protocols = ["realtime", ...(key ? [`openai-insecure-api-key.${key}`] : [])];
  const transcription = { model: s.model, ...(s.language ? { language: s.language } : {}) };
  return new Promise((resolve, reject) => {
    let configured = false;
    try {
      socket = new WebSocket(`${scheme}://${location.host}/v1/realtime?intent=transcription`, protocols);
    } catch (err) {
      return reject(new Error(`Cannot open the live connection: ${err.message}`));
    }
    socket.onopen = () => {
      state.connected = true;
      send({
        type: "session.update",
        session: {
          type: "transcription",
          audio: {
            input: {
              format: { type: "audio/pcm", rate: 24000 },
              transcription,
              turn_detection: { type: "server_vad" },
            },
          },
        },
      });
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (!configured && event.type === "session.updated") {
        configured = true;
        resolve();
      } else if (!configured && event.type === "error") {
        reject(new Error(event.error.message));
      } else {
        onEvent(event);
      }
    };
    socket.onclose = (e) => {
      const wasConnected = state.connected;
      state.connected = false;
      socket = null;
      if (!configured) {
        // a refused handshake (bad key, server full) is not explained to a page: say what it may be
        reject(new Error(wasConnected ? `The server closed the live connection (${e.code}).`
          : "The server refused the live connection: check the API key, or the server may hold all the sessions it can."));
      } else if (state.running) {
        stopAudio();
        setButton("idle");
        status("");
        showError(`The live connection ended${e.reason ? `: ${e.reason}` : ""} (${e.code}).`);
      } else {
        finished();
      }
    };
  });
}

function onEvent(event) {
  switch (event.type) {
    case "session.created":
      state.sessionId = event.session.id;
      break;
    case "input_audio_buffer.speech_started":
      speaking = event.item_id;
      line(event.item_id);
      break;
    case "input_audio_buffer.speech_stopped":
      if (speaking === event.item_id) speaking = null;
      break;
    case "input_audio_buffer.committed":
      pending.add(event.item_id);
      committing = false;
      line(event.item_id);
      break;
    case "conversation.item.input_audio_transcription.delta": {
      state.deltas++;
      const entry = line(event.item_id);
      if (entry.done) break;
      entry.interim += event.delta;
      entry.element.textContent = entry.interim.trim();
      break;
    }
    case "conversation.item.input_audio_transcription.completed": {
      const entry = line(event.item_id);
      entry.done = true;
      const text = event.transcript.trim();
      entry.element.classList.remove("interim");
      entry.element.textContent = text;
      if (!text) entry.element.remove();
      state.turns.push({ itemId: event.item_id, transcript: text, interim: entry.interim.trim() });
      done(event.item_id);
      break;
    }
    case "conversation.item.input_audio_transcription.failed": {
      const entry = line(event.item_id);
      entry.done = true;
      entry.element.classList.replace("interim", "failed");
      entry.element.textContent = `(not transcribed: ${event.error.message})`;
      done(event.item_id);
      break;
    }
    case "error":
      state.errors.push(event.error);
      showError(event.error.message);
      committing = false; // a commit refused (too little audio) is answered with an error
      closeWhenDone();
      break;
  }
}

/** The caption line of an item, made when the item is first heard of. */
function line(itemId) {
  let entry = lines.get(itemId);
  if (!entry) {
    const element = document.createElement("p");
    element.className = "turn interim";
    element.dataset.item = itemId;
    $("live-captions").append(element);
    entry = { element, interim: "", done: false };
    lines.set(itemId, entry);
  }
  return entry;
}

function done(itemId) {
  pending.delete(itemId);
  closeWhenDone();
}

/** Stop the microphone; a turn still being spoken is committed, and its transcript waited for. */
export function stop() {
  const wasRunning = state.running;
  state.running = false;
  stopAudio();
  if (!socket) return finished();
  committing = wasRunning && speaking !== null && send({ type: "input_audio_buffer.commit" });
  speaking = null;
  setButton("finishing");
  status("Finishing the last turn…");
  finishTimer = setTimeout(closeSocket, FINISH_TIMEOUT_MS);
  closeWhenDone();
}

/** After Stop: close once nothing is committed without its transcript (a commit just sent is answered first). */
function closeWhenDone() {
  if (!state.running && socket && !committing && pending.size === 0) closeSocket();
}

function finished() {
  clearTimeout(finishTimer);
  for (const entry of lines.values()) if (!entry.done) entry.element.remove();
  lines.clear();
  pending.clear();
  setButton("idle");
  status(state.turns.length ? `Stopped: ${state.turns.length} turns.` : "Stopped.");
  document.body.dataset.liveStopped = "true";
}

function stopAudio() {
  if (!audio) return;
  audio.stream.getTracks().forEach((t) => t.stop());
  if (audio.node) audio.node.port.onmessage = null;
  audio.context.close();
  audio = null;
}

function closeSocket() {
  if (!socket) return finished();
  socket.close(1000);
}

function send(event) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return false;
  socket.send(JSON.stringify(event));
  return true;
}

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function setButton(phase) {
  const button = $("live-start");
  button.textContent = { idle: "● Start", starting: "Starting…", running: "■ Stop", finishing: "Finishing…" }[phase];
  button.setAttribute("aria-pressed", String(phase === "running"));
  button.disabled = phase === "starting" || phase === "finishing";
  $("live-model").disabled = $("live-language").disabled = phase !== "idle";
  if (phase !== "idle") delete document.body.dataset.liveStopped;
}

function status(text) {
  $("live-status").textContent = text;
}

function showError(message) {
  const box = $("live-error");
  box.textContent = message;
  box.hidden = false;
}

function hideError() {
  $("live-error").hidden = true;
}
