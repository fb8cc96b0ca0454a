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
  // the words are the fox sentence, in the order and at the times they were said
  const spoken = result.words.map((w) => w.word.toLowerCase().replace(/[.,]/g, "").trim());
  assert.ok(spoken.indexOf("fox") >= 0 && spoken.indexOf("fox") < spoken.indexOf("dog"), spoken.join(" "));
  for (const [i, w] of result.words.entries()) {
    assert.ok(0 <= w.start && w.start <= w.end && w.end <= result.duration + 0.5, `word ${i}: ${JSON.stringify(w)}`);
    if (i > 0) assert.ok(w.start >= result.words[i - 1].start, `word ${i} starts before word ${i - 1}`);
  }
  assert.ok(result.segments.length > 0);
  assert.deepEqual(result.segments.map((s) => s.id), result.segments.map((_, i) => i));
  assert.match(result.segments.map((s) => s.text).join(" ").toLowerCase(), /quick brown fox/);
});

test("srt comes back as raw text", async () => {
  const srt = await client.audio.transcriptions.create({
    model: "tiny.en",
    file: fs.createReadStream(fixture("en_weather.flac")),
    response_format: "srt",
  });
  assert.equal(typeof srt, "string");
  const seconds = (stamp) => stamp.split(/[:,]/).map(Number).reduce((sum, part, i) => sum + part * [3600, 60, 1, 0.001][i], 0);
  const cues = srt.trim().split("\n\n").map((block) => {
    const match = block.match(/^(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)$/s);
    assert.ok(match, `not an SRT cue: ${JSON.stringify(block)}`);
    return { index: Number(match[1]), start: seconds(match[2]), end: seconds(match[3]), text: match[4] };
  });
  assert.deepEqual(cues.map((c) => c.index), cues.map((_, i) => i + 1));
  for (const [i, cue] of cues.entries()) {
    assert.ok(cue.start < cue.end && cue.end < 6, `cue ${i + 1}: ${cue.start} --> ${cue.end}`);
    if (i > 0) assert.ok(cue.start >= cues[i - 1].start);
  }
  const text = cues.map((c) => c.text).join(" ").toLowerCase();
  assert.match(text, /weather/);
  assert.match(text, /rain in the morning/);
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

test("chunking_strategy as an object, its values applied", async () => {
  // Chunked by voice activity, only what the VAD calls speech is decoded: at a threshold of
  // 0.999 nothing in en_weather.flac is, so the text is empty; a server that ignored the field
  // would transcribe it all.
  const transcribe = (chunking_strategy) =>
    client.audio.transcriptions.create({
      model: "tiny.en",
      file: fs.createReadStream(fixture("en_weather.flac")),
      chunking_strategy,
    });
  const heard = await transcribe({ type: "server_vad", threshold: 0.5, silence_duration_ms: 300 });
  assert.match(heard.text.toLowerCase(), /rain in the morning/);
  const strict = await transcribe({ type: "server_vad", threshold: 0.999, silence_duration_ms: 300 });
  assert.equal(strict.text.trim(), "");
  await assert.rejects(
    transcribe({ type: "server_vad", threshold: 1.5 }),
    (err) => err instanceof OpenAI.BadRequestError && err.param === "chunking_strategy",
  );
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
