// The official openai Node SDK against a running gateway (GATEWAY_BASE_URL, FIXTURES set by pytest).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import OpenAI, { toFile } from "openai";

const client = new OpenAI({ baseURL: process.env.GATEWAY_BASE_URL, apiKey: "sk-node", maxRetries: 0 });
const fixture = (name) => path.join(process.env.FIXTURES, name);

test("json transcription from a file stream", async () => {
  const result = await client.audio.transcriptions.create({
    model: "whisper-1",
    file: fs.createReadStream(fixture("en_weather.flac")),
  });
  assert.match(result.text.toLowerCase(), /weather is sunny/);
  assert.equal(result.usage.type, "duration");
});

test("verbose_json with words, from a buffer without a useful name", async () => {
  const file = await toFile(fs.readFileSync(fixture("en_fox.flac")), "blob");
  const result = await client.audio.transcriptions.create({
    model: "tiny.en",
    file,
    response_format: "verbose_json",
    timestamp_granularities: ["word", "segment"],
  });
  assert.equal(result.language, "english");
  assert.ok(result.words.some((w) => w.word.toLowerCase().startsWith("fox")));
  assert.ok(result.segments.length > 0);
});

test("srt comes back as raw text", async () => {
  const srt = await client.audio.transcriptions.create({
    model: "tiny.en",
    file: fs.createReadStream(fixture("en_weather.flac")),
    response_format: "srt",
  });
  assert.equal(typeof srt, "string");
  assert.match(srt, /^1\n00:00:\d\d,\d{3} --> /);
});

test("streamed deltas and done", async () => {
  const stream = await client.audio.transcriptions.create({
    model: "tiny.en",
    file: fs.createReadStream(fixture("en_weather.flac")),
    stream: true,
    include: ["logprobs"],
  });
  const events = [];
  for await (const event of stream) events.push(event);
  const done = events.at(-1);
  assert.equal(done.type, "transcript.text.done");
  assert.ok(events.some((e) => e.type === "transcript.text.delta" && e.logprobs.length > 0));
  assert.match(done.text.toLowerCase(), /tomorrow/);
});

test("chunking_strategy as an object", async () => {
  const result = await client.audio.transcriptions.create({
    model: "tiny.en",
    file: fs.createReadStream(fixture("en_weather.flac")),
    chunking_strategy: { type: "server_vad", silence_duration_ms: 300 },
  });
  assert.match(result.text.toLowerCase(), /rain/);
});

test("translation", async () => {
  const result = await client.audio.translations.create({
    model: "whisper-1",
    file: fs.createReadStream(fixture("de_morning.flac")),
  });
  assert.match(result.text.toLowerCase(), /morning/);
});

test("errors are typed", async () => {
  await assert.rejects(
    client.audio.transcriptions.create({ model: "nope", file: fs.createReadStream(fixture("en_fox.flac")) }),
    (err) => err instanceof OpenAI.NotFoundError && err.code === "model_not_found",
  );
  await assert.rejects(
    client.audio.transcriptions.create({ model: "tiny.en", file: await toFile(Buffer.from("not audio"), "a.wav") }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "file",
  );
});

test("models list includes aliases", async () => {
  const ids = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.ok(ids.includes("whisper-1") && ids.includes("tiny.en"));
});

test("diarized_json streamed with a known speaker", async () => {
  // en_fox.flac is the Piper voice joe saying other words: his reference clip, as a data URL
  const joe = `data:audio/flac;base64,${fs.readFileSync(fixture("en_fox.flac")).toString("base64")}`;
  const stream = await client.audio.transcriptions.create({
    model: "gpt-4o-transcribe-diarize",
    file: fs.createReadStream(fixture("en_two_voices.flac")),
    response_format: "diarized_json",
    known_speaker_names: ["joe"],
    known_speaker_references: [joe],
    stream: true,
  });
  const events = [];
  for await (const event of stream) events.push(event);
  const segments = events.filter((e) => e.type === "transcript.text.segment");
  const deltas = events.filter((e) => e.type === "transcript.text.delta");
  assert.equal(events.at(-1).type, "transcript.text.done");
  assert.ok(segments.length >= 4);
  assert.deepEqual(deltas.map((d) => d.segment_id), segments.map((s) => s.id));
  assert.deepEqual([...new Set(segments.map((s) => s.speaker))], ["joe", "A"]);
  const said = (who) => segments.filter((s) => s.speaker === who).map((s) => s.text).join(" ").toLowerCase();
  assert.match(said("joe"), /budget/);
  assert.match(said("A"), /campaign/);
});

test("diarization refusals name the param", async () => {
  await assert.rejects(
    client.audio.transcriptions.create({
      model: "gpt-4o-transcribe-diarize",
      file: fs.createReadStream(fixture("en_fox.flac")),
      known_speaker_names: ["joe", "ann"],
      known_speaker_references: ["data:audio/wav;base64,AAAA"],
    }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "known_speaker_references",
  );
  await assert.rejects(
    client.audio.transcriptions.create({
      model: "whisper-1",
      file: fs.createReadStream(fixture("en_fox.flac")),
      response_format: "diarized_json",
    }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "response_format",
  );
});

// SPOKEN (set by pytest): drugs.flac (Piper: "The drug Xarelto interacts with Brilinta and Eliquis."), es.flac (espeak-ng Spanish)
const spoken = (name) => path.join(process.env.SPOKEN, name);

test("keywords spell rare names right", async () => {
  const plain = await client.audio.transcriptions.create({ model: "gpt-transcribe", file: fs.createReadStream(spoken("drugs.flac")) });
  const guided = await client.audio.transcriptions.create({
    model: "gpt-transcribe",
    file: fs.createReadStream(spoken("drugs.flac")),
    keywords: ["Xarelto", "Brilinta", "Eliquis"],
  });
  assert.doesNotMatch(plain.text, /Xarelto/);
  for (const name of ["Xarelto", "Brilinta", "Eliquis"]) assert.match(guided.text, new RegExp(name));
  await assert.rejects(
    client.audio.transcriptions.create({
      model: "gpt-transcribe",
      file: fs.createReadStream(spoken("drugs.flac")),
      keywords: ["x".repeat(101)],
    }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "keywords",
  );
});

test("languages narrow detection and are reported", async () => {
  const result = await client.audio.transcriptions.create({
    model: "gpt-transcribe",
    file: fs.createReadStream(spoken("es.flac")),
    languages: ["it", "es"],
  });
  assert.deepEqual(result.languages, [{ code: "es" }]);
  const stream = await client.audio.transcriptions.create({
    model: "gpt-transcribe",
    file: fs.createReadStream(spoken("es.flac")),
    languages: ["es"],
    stream: true,
  });
  let done;
  for await (const event of stream) if (event.type === "transcript.text.done") done = event;
  assert.deepEqual(done.languages, [{ code: "es" }]);
  await assert.rejects(
    client.audio.transcriptions.create({ model: "gpt-transcribe", file: fs.createReadStream(spoken("es.flac")), languages: ["xx"] }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "languages",
  );
});
