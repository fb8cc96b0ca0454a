// The official Node SDK's OpenAIRealtimeWebSocket against the gateway, over TLS (the SDK opens wss: URLs only).
// Set by tests/api/test_node_realtime.py: GATEWAY_TLS_BASE_URL (https://localhost:PORT/v1, a self-signed
// certificate trusted through NODE_EXTRA_CA_CERTS), GATEWAY_EPHEMERAL_KEY (ek_..., minted by pytest), FIXTURE_PCM
// (pcm16 at 24 kHz of en_fox.flac).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import OpenAI from "openai";
import { OpenAIRealtimeWebSocket } from "openai/realtime/websocket";

const TIMEOUT_MS = 300_000;

function transcribe(apiKey) {
  const client = new OpenAI({ baseURL: process.env.GATEWAY_TLS_BASE_URL, apiKey, maxRetries: 0 });
  const rt = new OpenAIRealtimeWebSocket({ intent: "transcription" }, client);
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no transcript; events: ${seen.join(", ")}`)), TIMEOUT_MS);
    rt.on("event", (event) => seen.push(event.type));
    rt.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    rt.on("session.created", (event) => {
      assert.equal(event.session.type, "transcription");
      rt.send({
        type: "session.update",
        session: { type: "transcription", audio: { input: { turn_detection: null, transcription: { model: "tiny.en" } } } },
      });
    });
    rt.on("session.updated", () => {
      const pcm = fs.readFileSync(process.env.FIXTURE_PCM);
      for (let start = 0; start < pcm.length; start += 4800) {
        rt.send({ type: "input_audio_buffer.append", audio: pcm.subarray(start, start + 4800).toString("base64") });
      }
      rt.send({ type: "input_audio_buffer.commit" });
    });
    rt.on("conversation.item.input_audio_transcription.completed", (event) => {
      clearTimeout(timer);
      rt.close();
      resolve({ transcript: event.transcript, seen });
    });
  });
}

test("a transcription session with an API key over wss", async () => {
  const { transcript, seen } = await transcribe("sk-node");
  assert.match(transcript.toLowerCase(), /brown fox/);
  assert.ok(seen.includes("input_audio_buffer.committed"));
});

test("a browser-style session with an ephemeral key (sent as a subprotocol)", async () => {
  const { transcript } = await transcribe(process.env.GATEWAY_EPHEMERAL_KEY);
  assert.match(transcript.toLowerCase(), /brown fox/);
});
