// "Copy as curl / Python": the request the page is about to make, as a command to paste.
// The key is never written out: with one set, the commands read $OPENAI_API_KEY.

const sh = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${String(s).replace(/'/g, `'\\''`)}'`);
const py = (s) => JSON.stringify(s); // a JSON string is a valid Python string literal

function curlLines(url, hasKey) {
  const lines = [`curl ${sh(url)}`];
  if (hasKey) lines.push(`-H "Authorization: Bearer $OPENAI_API_KEY"`);
  return lines;
}

const joinCurl = (lines) => lines.join(" \\\n  ");

function pythonClient(baseUrl, hasKey) {
  return hasKey
    ? `client = OpenAI(base_url=${py(baseUrl)})  # the key is read from OPENAI_API_KEY`
    : `client = OpenAI(base_url=${py(baseUrl)}, api_key="none")  # this server asks for no key`;
}

/** s: {baseUrl, hasKey, fileName, model, format, language, words, stream} */
export function transcriptionCurl(s) {
  const lines = curlLines(`${s.baseUrl}/audio/transcriptions`, s.hasKey);
  lines.push(`-F ${sh(`file=@${s.fileName}`)}`, `-F ${sh(`model=${s.model}`)}`, `-F response_format=${s.format}`);
  if (s.language) lines.push(`-F ${sh(`language=${s.language}`)}`);
  if (s.words) lines.push(`-F 'timestamp_granularities[]=word'`, `-F 'timestamp_granularities[]=segment'`);
  if (s.stream) lines.push("-F stream=true", "--no-buffer");
  return joinCurl(lines);
}

export function transcriptionPython(s) {
  const args = [`model=${py(s.model)}`, "file=audio", `response_format=${py(s.format)}`];
  if (s.language) args.push(`language=${py(s.language)}`);
  if (s.words) args.push(`timestamp_granularities=["word", "segment"]`);
  if (s.stream) args.push("stream=True");
  let show;
  if (s.stream) {
    show = [
      "for event in result:",
      '    if event.type == "transcript.text.delta":',
      '        print(event.delta, end="", flush=True)',
      ...(s.format === "diarized_json"
        ? ['    elif event.type == "transcript.text.segment":', '        print(f"\\n[{event.speaker}] {event.text}")']
        : []),
      '    elif event.type == "transcript.text.done":',
      "        print()",
    ];
  } else if (["text", "srt", "vtt"].includes(s.format)) {
    show = ["print(result)"];
  } else if (s.format === "diarized_json") {
    show = ["for segment in result.segments:", '    print(f"{segment.start:6.1f}s {segment.speaker}: {segment.text}")'];
  } else if (s.format === "verbose_json") {
    show = ["print(result.model_dump_json(indent=2))"];
  } else {
    show = ["print(result.text)"];
  }
  return [
    "from openai import OpenAI",
    "",
    pythonClient(s.baseUrl, s.hasKey),
    `with open(${py(s.fileName)}, "rb") as audio:`,
    "    result = client.audio.transcriptions.create(",
    ...args.map((a) => `        ${a},`),
    "    )",
    ...show,
  ].join("\n");
}

/** s: {baseUrl, hasKey, model, input, voice, format, speed} */
export function speechCurl(s) {
  const lines = curlLines(`${s.baseUrl}/audio/speech`, s.hasKey);
  const body = { model: s.model, input: s.input, voice: s.voice, response_format: s.format, speed: s.speed };
  lines.push(`-H 'Content-Type: application/json'`, `-d ${sh(JSON.stringify(body))}`, `--output speech.${s.format}`);
  return joinCurl(lines);
}

export function speechPython(s) {
  return [
    "from openai import OpenAI",
    "",
    pythonClient(s.baseUrl, s.hasKey),
    "with client.audio.speech.with_streaming_response.create(",
    `    model=${py(s.model)},`,
    `    voice=${py(s.voice)},`,
    `    input=${py(s.input)},`,
    `    response_format=${py(s.format)},`,
    `    speed=${s.speed},`,
    ") as response:",
    `    response.stream_to_file("speech.${s.format}")`,
  ].join("\n");
}
