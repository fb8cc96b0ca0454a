// Speech to text: choose or record audio, POST it, show the transcript as it streams in,
// and lay segments out on a timeline (coloured by speaker) that plays that moment when clicked.

import { api, readEvents } from "./api.js";

const $ = (id) => document.getElementById(id);
export const state = { file: null, running: false, result: null, segments: [], text: "" };

// -- the audio to send -------------------------------------------------------------------

export function useFile(file) {
  state.file = file;
  const audio = $("source-audio");
  if (audio.src) URL.revokeObjectURL(audio.src);
  audio.src = URL.createObjectURL(file);
  audio.hidden = false;
  $("source-name").textContent = `${file.name} (${(file.size / 1024).toFixed(0)} KiB)`;
  $("transcribe").disabled = false;
}

let recorder = null;

export async function toggleRecording() {
  const button = $("record");
  if (recorder) {
    recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (err) {
    showError(`The microphone is not available: ${err.message}`);
    return;
  }
  const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4"].find((t) => MediaRecorder.isTypeSupported(t));
  recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  const started = Date.now();
  const timer = setInterval(() => {
    $("source-name").textContent = `Recording… ${((Date.now() - started) / 1000).toFixed(0)} s`;
  }, 250);
  recorder.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  recorder.onstop = () => {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    const mime = recorder.mimeType || "audio/webm";
    const ext = mime.includes("ogg") ? "ogg" : mime.includes("mp4") ? "m4a" : "webm";
    recorder = null;
    button.textContent = "● Record";
    button.setAttribute("aria-pressed", "false");
    useFile(new File(chunks, `recording.${ext}`, { type: mime }));
  };
  recorder.start(250);
  button.textContent = "■ Stop";
  button.setAttribute("aria-pressed", "true");
  hideError();
}

// -- the request -------------------------------------------------------------------------

/** The form's choices, also what the code snippets are built from. */
export function settings() {
  return {
    model: $("stt-model").value,
    format: $("stt-format").value,
    language: $("stt-language").value.trim().toLowerCase(),
    words: $("stt-words").checked && !$("stt-words").disabled,
    stream: $("stt-stream").checked,
    fileName: state.file ? state.file.name : "audio.flac",
  };
}

export async function transcribe() {
  if (!state.file || state.running) return;
  const s = settings();
  const form = new FormData();
  form.append("file", state.file, s.fileName);
  form.append("model", s.model);
  form.append("response_format", s.format);
  if (s.language) form.append("language", s.language);
  if (s.words) ["word", "segment"].forEach((g) => form.append("timestamp_granularities[]", g));
  if (s.stream) form.append("stream", "true");
  reset();
  state.running = true;
  $("transcribe").disabled = true;
  const started = performance.now();
  status(s.stream ? "Streaming…" : "Transcribing…");
  try {
    const response = await api("/audio/transcriptions", { method: "POST", body: form });
    const type = response.headers.get("content-type") || "";
    if (type.startsWith("text/event-stream")) {
      await readEvents(response, onEvent);
    } else if (type.startsWith("application/json")) {
      showResult(await response.json(), s.format);
    } else {
      showRaw(await response.text());
    }
    status(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    document.body.dataset.transcribed = "true";
  } catch (err) {
    showError(err.message);
    status("");
  } finally {
    state.running = false;
    $("transcribe").disabled = false;
  }
}

function onEvent(event) {
  if (event.type === "transcript.text.delta") {
    state.text += event.delta;
    $("transcript").textContent = state.text;
  } else if (event.type === "transcript.text.segment") {
    addSegments([event]);
  } else if (event.type === "transcript.text.done") {
    state.text = event.text;
    $("transcript").textContent = event.text;
    state.result = event;
    setRaw(event);
  }
}

function showResult(body, format) {
  state.result = body;
  setRaw(body);
  $("transcript").textContent = body.text || "";
  if (Array.isArray(body.segments) && (format === "verbose_json" || format === "diarized_json")) {
    addSegments(body.segments, body.duration);
  }
}

function showRaw(text) {
  const box = $("transcript");
  box.classList.add("raw");
  box.textContent = text;
  setRaw(null);
}

function setRaw(body) {
  $("stt-raw-wrap").hidden = !body;
  $("stt-raw").textContent = body ? JSON.stringify(body, null, 2) : "";
}

// -- timeline ----------------------------------------------------------------------------

const speakers = new Map();

function colourOf(speaker) {
  if (!speakers.has(speaker)) {
    speakers.set(speaker, speakers.size % 8);
    if (speaker !== undefined) {
      const li = document.createElement("li");
      li.style.setProperty("--c", `var(--s${speakers.get(speaker)})`);
      li.textContent = speakerName(speaker);
      $("legend").append(li);
    }
  }
  return `var(--s${speakers.get(speaker)})`;
}

/** `A` -> "Speaker A"; a known speaker's name stays as it is. */
const speakerName = (speaker) => (/^[A-Z]{1,2}$/.test(speaker) ? `Speaker ${speaker}` : speaker);

export const clock = (t) => {
  const m = Math.floor(t / 60);
  return `${m}:${(t - m * 60).toFixed(1).padStart(4, "0")}`;
};

function addSegments(segments, duration) {
  if (!segments.length) return;
  state.segments.push(...segments);
  $("timeline-wrap").hidden = false;
  const audio = $("source-audio");
  const total = duration || (Number.isFinite(audio.duration) ? audio.duration : 0);
  state.duration = Math.max(total, ...state.segments.map((s) => s.end));
  const list = $("segments");
  for (const seg of segments) {
    const colour = colourOf(seg.speaker);
    const who = seg.speaker === undefined ? "" : `${speakerName(seg.speaker)}, `;
    const label = `${who}${clock(seg.start)} to ${clock(seg.end)}: ${seg.text.trim()}`;
    const li = document.createElement("li");
    li.style.setProperty("--c", colour);
    li.dataset.speaker = seg.speaker ?? "";
    const row = document.createElement("button");
    row.type = "button";
    row.setAttribute("aria-label", `Play ${label}`);
    if (seg.speaker !== undefined) row.append(span("who", seg.speaker));
    row.append(span("when", `${clock(seg.start)}–${clock(seg.end)}`), seg.text.trim());
    row.addEventListener("click", () => playFrom(seg.start));
    li.append(row);
    list.append(li);
  }
  drawTimeline();
}

function span(cls, text) {
  const el = document.createElement("span");
  el.className = cls;
  el.textContent = text;
  return el;
}

function drawTimeline() {
  const bar = $("timeline");
  bar.replaceChildren();
  const total = state.duration || 1;
  for (const seg of state.segments) {
    const b = document.createElement("button");
    b.type = "button";
    b.tabIndex = -1; // the list below is the same segments, for keyboards and screen readers
    b.style.left = `${(100 * seg.start) / total}%`;
    b.style.width = `${(100 * Math.max(seg.end - seg.start, 0.05)) / total}%`;
    b.style.setProperty("--c", colourOf(seg.speaker));
    const who = seg.speaker === undefined ? "" : `${speakerName(seg.speaker)}: `;
    b.title = `${who}${clock(seg.start)}–${clock(seg.end)} ${seg.text.trim()}`;
    b.setAttribute("aria-label", `Play from ${clock(seg.start)}`);
    b.addEventListener("click", () => playFrom(seg.start));
    bar.append(b);
  }
  const cursor = document.createElement("div");
  cursor.className = "cursor";
  cursor.id = "timeline-cursor";
  bar.append(cursor);
  followPlayback();
}

export function playFrom(seconds) {
  const audio = $("source-audio");
  audio.currentTime = seconds;
  audio.play().catch((err) => showError(`Cannot play: ${err.message}`));
}

function followPlayback() {
  const audio = $("source-audio");
  audio.ontimeupdate = () => {
    const t = audio.currentTime;
    const cursor = $("timeline-cursor");
    if (cursor) cursor.style.left = `${(100 * t) / (state.duration || 1)}%`;
    const items = $("segments").children;
    state.segments.forEach((seg, i) => items[i]?.classList.toggle("current", t >= seg.start && t < seg.end));
  };
}

// -- status ------------------------------------------------------------------------------

function reset() {
  hideError();
  state.text = "";
  state.result = null;
  state.segments = [];
  speakers.clear();
  delete document.body.dataset.transcribed;
  $("transcript").textContent = "";
  $("transcript").classList.remove("raw");
  $("legend").replaceChildren();
  $("segments").replaceChildren();
  $("timeline").replaceChildren();
  $("timeline-wrap").hidden = true;
  setRaw(null);
}

function status(text) {
  $("stt-status").textContent = text;
}

function showError(message) {
  const box = $("stt-error");
  box.textContent = message;
  box.hidden = false;
}

function hideError() {
  $("stt-error").hidden = true;
}
