"""Every speech format as Chromium decodes it (Web Audio's decodeAudioData), fetched by the page
itself and, for the streamed form, joined from the SSE deltas (issue 12). pcm has no header for
a browser to decode: the playground plays it through Web Audio from its samples."""

from __future__ import annotations

import base64
import json

import pytest

TEXT = "The weather is nice today. We will walk to the park."
FORMATS = ("mp3", "opus", "aac", "flac", "wav")

DECODE = """async ({b64, url, body}) => {
  let bytes;
  if (url) {
    const response = await fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body});
    if (!response.ok) return {ok: false, error: `HTTP ${response.status}`};
    bytes = await response.arrayBuffer();
  } else {
    bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0)).buffer;
  }
  const context = new OfflineAudioContext(1, 1, 48000);
  try {
    const audio = await context.decodeAudioData(bytes);
    const samples = audio.getChannelData(0);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    return {ok: true, duration: audio.duration, peak};
  } catch (error) {
    return {ok: false, error: String(error)};
  }
}"""


@pytest.fixture(scope="module")
def browser_page(browser, server):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/health")  # same origin as the API
    yield page
    context.close()


def sse_bytes(client, fmt: str) -> bytes:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format=fmt, stream_format="sse"
    ) as response:
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    assert events[-1]["type"] == "speech.audio.done"
    return b"".join(base64.b64decode(e["audio"]) for e in events[:-1])


@pytest.mark.parametrize("how", ["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_chromium_decodes_every_format(browser_page, client, server, fmt, how):
    if how == "whole":
        body = json.dumps({"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": fmt})
        result = browser_page.evaluate(DECODE, {"b64": None, "url": server.base_url + "/audio/speech", "body": body})
    else:
        b64 = base64.b64encode(sse_bytes(client, fmt)).decode("ascii")
        result = browser_page.evaluate(DECODE, {"b64": b64, "url": None, "body": None})
    assert result["ok"], result
    assert 2.0 < result["duration"] < 6.0  # eleven words of speech
    assert result["peak"] > 0.1  # audible


@pytest.mark.parametrize("fmt", FORMATS)
def test_chromium_decodes_what_an_encoder_makes_of_no_audio(browser_page, fmt):
    """An encoder given nothing still makes a file (a short silence): Chromium refuses a file
    without samples, and mp3 and ADTS have no header without a frame (issue 18)."""
    from gateway.audio_io import EMPTY_SILENCE_S, open_encoder

    encoder = open_encoder(fmt, 24_000)
    data = encoder.encode(b"") + encoder.finish()
    result = browser_page.evaluate(DECODE, {"b64": base64.b64encode(data).decode("ascii"), "url": None, "body": None})
    assert result["ok"], result
    assert EMPTY_SILENCE_S <= result["duration"] < 0.15 and result["peak"] < 1e-3
