// The playground page: wires the key field, the model and voice lists, both panels and the
// "copy as curl / Python" buttons.

import { ApiError, BASE_URL, apiKey, servedModels, setApiKey, voicesFor } from "./api.js";
import * as live from "./live.js";
import * as snippets from "./snippets.js";
import * as speech from "./speech.js";
import * as stt from "./transcribe.js";

const $ = (id) => document.getElementById(id);

const PREFERRED_STT = ["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];
const PREFERRED_TTS = ["gpt-4o-mini-tts", "tts-1"];

window.playground = { speech: speech.last, transcription: stt.state, live: live.state, ready: false };

function fill(select, ids, preferred) {
  const previous = select.value;
  select.replaceChildren(...ids.map((id) => new Option(id, id)));
  const pick = [previous, ...preferred].find((id) => ids.includes(id));
  if (pick) select.value = pick;
}

async function loadModels() {
  const note = $("server-status");
  try {
    const models = await servedModels();
    const stt = models.filter((m) => m.kind !== "speech").map((m) => m.id);
    const tts = models.filter((m) => m.kind === "speech" || m.kind === "unknown").map((m) => m.id);
    fill($("stt-model"), stt, PREFERRED_STT);
    fill($("live-model"), stt.filter((id) => !/diariz/i.test(id)), PREFERRED_STT);
    fill($("tts-model"), tts, PREFERRED_TTS);
    const ttsAvailable = models.some((m) => m.kind === "speech");
    $("speak").disabled = !ttsAvailable;
    $("tts-status").textContent = ttsAvailable ? "" : "This server serves no speech model.";
    note.textContent = `${models.length} model ids served.`;
    onModelChange();
    await loadVoices();
  } catch (err) {
    note.textContent = err instanceof ApiError && err.status === 401 ? "Enter the server's API key." : err.message;
  }
}

async function loadVoices() {
  const model = $("tts-model").value;
  if (!model) return;
  fill($("tts-voice"), await voicesFor(model), ["alloy"]);
}

function onModelChange() {
  const diarize = /diariz/i.test($("stt-model").value);
  const format = $("stt-format");
  for (const option of format.options) option.disabled = diarize ? !["json", "text", "diarized_json"].includes(option.value)
    : option.value === "diarized_json";
  if (format.selectedOptions[0]?.disabled) format.value = diarize ? "diarized_json" : "json";
  onFormatChange();
}

function onFormatChange() {
  const format = $("stt-format").value;
  $("stt-words").disabled = format !== "verbose_json";
  const streaming = $("stt-stream").checked;
  $("stt-hint").textContent = {
    verbose_json: streaming
      ? "Segments with their times come in the complete answer: turn Stream off to see them on the timeline."
      : "Segments (and words, if asked) with their times, on a timeline.",
    diarized_json: "Segments with their speakers, coloured on the timeline.",
    srt: "Subtitles.", vtt: "Web subtitles.", text: "Just the text.", json: "The text and its usage.",
  }[format];
}

function showCode(panel, lang) {
  const common = { baseUrl: BASE_URL, hasKey: Boolean(apiKey()) };
  const code = panel === "stt"
    ? (lang === "curl" ? snippets.transcriptionCurl : snippets.transcriptionPython)({ ...common, ...stt.settings() })
    : (lang === "curl" ? snippets.speechCurl : snippets.speechPython)({ ...common, ...speech.settings() });
  $("code-wrap").hidden = false;
  $("code").textContent = code;
  $("code").dataset.panel = panel;
  $("code").dataset.lang = lang;
  const what = lang === "curl" ? "curl command" : "Python (pip install openai)";
  const keyNote = common.hasKey ? " It reads the key from $OPENAI_API_KEY." : "";
  const copied = () => ($("code-note").textContent = `Copied the ${what} to the clipboard.${keyNote}`);
  const shown = () => ($("code-note").textContent = `The ${what}; select it to copy.${keyNote}`);
  if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(code).then(copied, shown);
  else shown();
  $("code-wrap").scrollIntoView({ behavior: "smooth", block: "nearest" });
}

function init() {
  $("base-url").textContent = BASE_URL;
  const key = $("api-key");
  key.value = apiKey();
  $("key-form").addEventListener("submit", (e) => e.preventDefault());
  key.addEventListener("change", () => {
    setApiKey(key.value.trim());
    loadModels();
  });
  $("file").addEventListener("change", (e) => e.target.files[0] && stt.useFile(e.target.files[0]));
  $("record").addEventListener("click", stt.toggleRecording);
  $("stt-model").addEventListener("change", onModelChange);
  $("stt-format").addEventListener("change", onFormatChange);
  $("stt-stream").addEventListener("change", onFormatChange);
  $("stt-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (e.target.reportValidity()) stt.transcribe();
  });
  $("live-form").addEventListener("submit", (e) => {
    e.preventDefault();
    if (e.target.reportValidity()) live.toggle();
  });
  $("tts-model").addEventListener("change", loadVoices);
  $("tts-speed").addEventListener("input", (e) => ($("tts-speed-value").textContent = `${Number(e.target.value).toFixed(2)}×`));
  $("tts-form").addEventListener("submit", (e) => {
    e.preventDefault();
    speech.speak();
  });
  for (const button of document.querySelectorAll("button.copy")) {
    button.addEventListener("click", () => showCode(button.dataset.panel, button.dataset.lang));
  }
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    $("live-start").disabled = true;
    $("live-start").title = "Live captions need a secure page (https or localhost) and a browser with AudioWorklet.";
  }
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    $("record").disabled = true;
    $("record").title = "Recording needs a secure page (https or localhost) and a browser with MediaRecorder.";
  }
  loadModels().finally(() => (window.playground.ready = true));
}

init();
