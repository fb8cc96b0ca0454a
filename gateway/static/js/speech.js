// Text to speech: POST /v1/audio/speech and play the audio while it is still arriving.
// pcm goes to Web Audio chunk by chunk; mp3 and aac to a MediaSource; the other formats
// (Ogg Opus, FLAC, WAV) cannot be appended to a MediaSource and play once complete.

import { api } from "./api.js";

const $ = (id) => document.getElementById(id);
const PCM_RATE = 24000; // what the API sends: 24 kHz, 16-bit signed little-endian, mono
const MIME = { mp3: "audio/mpeg", opus: "audio/ogg", aac: "audio/aac", flac: "audio/flac", wav: "audio/wav", pcm: "audio/pcm" };

/** What the last request received and played; tests read it as window.playground.speech. */
export const last = { format: null, mode: null, bytes: 0, chunks: 0, firstChunkMs: null, done: false, played: false, playedSeconds: 0 };

export function settings() {
  return {
    model: $("tts-model").value,
    voice: $("tts-voice").value,
    input: $("tts-input").value,
    format: $("tts-format").value,
    speed: Number($("tts-speed").value),
  };
}

let current = null;

export async function speak() {
  const s = settings();
  if (!s.input.trim()) return showError("Type something to say.");
  if (current) current.stop();
  hideError();
  Object.assign(last, { format: s.format, bytes: 0, chunks: 0, firstChunkMs: null, done: false, played: false, playedSeconds: 0 });
  delete document.body.dataset.spoken;
  const audio = $("tts-audio");
  audio.pause();
  audio.hidden = true;
  const player = (current = makePlayer(s.format, audio)); // made in the click: audio may start
  last.mode = player.mode;
  $("tts-download").hidden = true;
  $("speak").disabled = true;
  const started = performance.now();
  status("Requesting…");
  const received = [];
  try {
    const body = { model: s.model, input: s.input, voice: s.voice, response_format: s.format, speed: s.speed };
    const response = await api("/audio/speech", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const reader = response.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (last.firstChunkMs === null) last.firstChunkMs = Math.round(performance.now() - started);
      last.bytes += value.length;
      last.chunks += 1;
      received.push(value);
      player.push(value);
      status(`Receiving… ${(last.bytes / 1024).toFixed(0)} KiB, first audio after ${last.firstChunkMs} ms (${player.mode}).`);
    }
    last.done = true;
    player.end();
    status(`Received ${(last.bytes / 1024).toFixed(0)} KiB in ${last.chunks} chunks; first audio after ${last.firstChunkMs} ms (${player.mode}).`);
    offerDownload(received, s.format);
  } catch (err) {
    player.stop();
    showError(err.message);
    status("");
  } finally {
    $("speak").disabled = false;
  }
}

function makePlayer(format, audio) {
  const onPlayed = (seconds) => {
    last.played = true;
    last.playedSeconds = Math.round(seconds * 100) / 100;
    document.body.dataset.spoken = "true";
    if (last.done) status(`${$("tts-status").textContent} Played ${last.playedSeconds.toFixed(1)} s.`);
  };
  if (format === "pcm") return new PcmPlayer(onPlayed);
  if (window.MediaSource && MediaSource.isTypeSupported(MIME[format]) && format !== "opus") {
    return new SourcePlayer(audio, MIME[format], onPlayed);
  }
  return new BlobPlayer(audio, MIME[format], onPlayed);
}

/** Raw 16-bit PCM scheduled on Web Audio as it arrives, each chunk right after the last. */
class PcmPlayer {
  constructor(onPlayed) {
    this.mode = "Web Audio, as it streams";
    this.ctx = new AudioContext({ sampleRate: PCM_RATE });
    this.at = 0;
    this.carry = null;
    this.playing = 0;
    this.seconds = 0;
    this.ended = false;
    this.onPlayed = onPlayed;
  }

  push(bytes) {
    let data = bytes;
    if (this.carry) {
      data = new Uint8Array(this.carry.length + bytes.length);
      data.set(this.carry);
      data.set(bytes, this.carry.length);
      this.carry = null;
    }
    if (data.length % 2) {
      this.carry = data.slice(-1);
      data = data.subarray(0, data.length - 1);
    }
    const n = data.length / 2;
    if (!n) return;
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    const buffer = this.ctx.createBuffer(1, n, PCM_RATE);
    const channel = buffer.getChannelData(0);
    for (let i = 0; i < n; i++) channel[i] = view.getInt16(2 * i, true) / 32768;
    const source = this.ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(this.ctx.destination);
    const at = Math.max(this.at, this.ctx.currentTime + 0.05);
    source.start(at);
    this.at = at + buffer.duration;
    this.playing += 1;
    source.onended = () => {
      this.playing -= 1;
      this.seconds += buffer.duration;
      this.check();
    };
  }

  end() {
    this.ended = true;
    this.check();
  }

  check() {
    if (this.ended && this.playing === 0) {
      this.onPlayed(this.seconds);
      this.ctx.close();
    }
  }

  stop() {
    this.ended = false;
    if (this.ctx.state !== "closed") this.ctx.close();
  }
}

/** mp3 or aac appended to a MediaSource: the <audio> element starts on the first chunk. */
class SourcePlayer {
  constructor(audio, mime, onPlayed) {
    this.mode = "MediaSource, as it streams";
    this.audio = audio;
    this.queue = [];
    this.ended = false;
    this.buffer = null;
    this.source = new MediaSource();
    this.source.addEventListener("sourceopen", () => {
      this.buffer = this.source.addSourceBuffer(mime);
      this.buffer.mode = "sequence";
      this.buffer.addEventListener("updateend", () => this.pump());
      this.pump();
    }, { once: true });
    audio.hidden = false;
    audio.onended = () => onPlayed(audio.currentTime);
    audio.src = URL.createObjectURL(this.source);
    this.started = false;
  }

  push(bytes) {
    this.queue.push(bytes);
    this.pump();
    if (!this.started) {
      this.started = true;
      this.audio.play().catch(() => {}); // waits for data; a refusal shows as a paused player
    }
  }

  pump() {
    if (!this.buffer || this.buffer.updating || this.source.readyState !== "open") return;
    if (this.queue.length) this.buffer.appendBuffer(this.queue.shift());
    else if (this.ended) this.source.endOfStream();
  }

  end() {
    this.ended = true;
    this.pump();
  }

  stop() {
    this.audio.pause();
  }
}

/** Formats a MediaSource cannot take: played from a Blob once the whole file is here. */
class BlobPlayer {
  constructor(audio, mime, onPlayed) {
    this.mode = "whole file";
    this.audio = audio;
    this.mime = mime;
    this.parts = [];
    audio.onended = () => onPlayed(audio.currentTime);
  }

  push(bytes) {
    this.parts.push(bytes);
  }

  end() {
    this.audio.hidden = false;
    this.audio.src = URL.createObjectURL(new Blob(this.parts, { type: this.mime }));
    this.audio.play().catch((err) => showError(`Cannot play: ${err.message}`));
  }

  stop() {
    this.audio.pause();
  }
}

function offerDownload(parts, format) {
  const link = $("tts-download");
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(new Blob(parts, { type: MIME[format] }));
  link.download = `speech.${format}`;
  link.textContent = `Download speech.${format}`;
  link.hidden = false;
}

function status(text) {
  $("tts-status").textContent = text;
}

function showError(message) {
  const box = $("tts-error");
  box.textContent = message;
  box.hidden = false;
}

function hideError() {
  $("tts-error").hidden = true;
}
