"""/v1/audio/speech and /v1/audio/voices through the official OpenAI Python SDK, on real Piper."""

from __future__ import annotations

import base64
import io
import json
import time

import av
import httpx
import openai
import pytest

from gateway.settings import SPEECH_VOICE_NAMES
from models.sentences import speech_pieces
from tests.helpers import word_error_rate, words
from tests.holds import hold_synthesis

SHORT = "The weather is nice today. We will walk to the park."
LONG = " ".join(
    [
        "Streaming speech means the first words can be heard before the last ones exist.",
        "Each sentence is synthesised, encoded and sent on its own.",
        "A slow network or a slow reader must not hold the server back.",
        "The gateway keeps going until the whole text has been spoken.",
        "Then it closes the stream, and the client has the complete file.",
        "Nothing here depends on a service outside this machine.",
    ]
)
CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le"}
MIME = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


def probe(data: bytes) -> tuple[str, float]:
    """Codec name and duration of encoded audio, decoded with PyAV."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, samples / stream.codec_context.sample_rate


def pcm_seconds(data: bytes) -> float:
    return len(data) / 2 / 24_000


def speak(client: openai.OpenAI, **params) -> bytes:
    params = {"model": "tts-1", "voice": "alloy", "input": SHORT, **params}
    return client.audio.speech.create(**params).content


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav"])
def test_each_format_decodes_to_its_codec(client, fmt):
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=SHORT, response_format=fmt
    ) as response:
        assert response.headers["content-type"] == MIME[fmt]
        data = response.read()
    codec, duration = probe(data)
    assert codec.startswith(CODECS[fmt])  # PyAV calls its mp3 decoder mp3float
    assert 2.0 < duration < 6.0  # eleven words of speech


def test_mp3_is_the_default(client):
    response = client.audio.speech.create(model="tts-1", voice="alloy", input=SHORT)
    assert response.response.headers["content-type"] == "audio/mpeg"
    assert probe(response.content)[0].startswith("mp3")


def test_wav_header_and_sample_rate(client):
    data = speak(client, response_format="wav")
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.sample_rate == 24_000


def test_pcm_is_the_wav_without_its_header(start_server):
    """With the noise scales at zero Piper is deterministic: pcm and wav carry the same samples."""
    server = start_server(
        transcription={"models": {"base": {"preload": False}}},
        speech={"models": {"exact": {"noise_scale": 0.0, "noise_w": 0.0}}},
    )
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    pcm = speak(sdk, model="exact", response_format="pcm")
    wav = speak(sdk, model="exact", response_format="wav")
    assert len(pcm) % 2 == 0 and len(wav) == len(pcm) + 44
    assert wav[44:] == pcm
    assert probe(wav)[1] == pytest.approx(pcm_seconds(pcm), abs=1e-3)


def test_speed_two_roughly_halves_the_duration(client):
    normal = pcm_seconds(speak(client, response_format="pcm", input=LONG))
    fast = pcm_seconds(speak(client, response_format="pcm", input=LONG, speed=2.0))
    slow = pcm_seconds(speak(client, response_format="pcm", input=SHORT, speed=0.5))
    assert 0.4 < fast / normal < 0.65
    assert slow > 1.5 * pcm_seconds(speak(client, response_format="pcm", input=SHORT))


@pytest.mark.parametrize("voice", SPEECH_VOICE_NAMES)
def test_every_voice_name_speaks_the_text(client, voice):
    audio = speak(client, voice=voice, response_format="flac")
    assert 2.0 < probe(audio)[1] < 6.0  # eleven words of speech
    heard = client.audio.transcriptions.create(model="whisper-1", file=("voice.flac", audio)).text
    assert word_error_rate(SHORT, heard) < 0.25, (voice, heard)


def test_voices_listing(server):
    body = httpx.get(f"{server.base_url}/audio/voices").json()
    assert body["object"] == "list"
    assert [v["id"] for v in body["data"]] == list(SPEECH_VOICE_NAMES)
    assert {(v["type"], v["piper_voice"], v["language"]) for v in body["data"]} == {
        ("builtin", "en_US-joe-medium", "en-us")
    }
    missing = httpx.get(f"{server.base_url}/audio/voices", params={"model": "no-such-model"})
    assert missing.status_code == 404


def sse_events(client: openai.OpenAI, **params) -> list[dict]:
    with client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="coral", stream_format="sse", **params
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        return [json.loads(line[len("data:") :]) for line in response.iter_lines() if line.startswith("data:")]


def test_sse_deltas_add_up_to_the_audio(client):
    events = sse_events(client, input=LONG, response_format="pcm")
    *deltas, done = events
    assert len(deltas) >= 6 and {e["type"] for e in deltas} == {"speech.audio.delta"}
    assert done["type"] == "speech.audio.done"
    audio = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens"] > 50 and usage["output_tokens"] > 0
    # The same text spoken as one audio response has about the same length.
    whole = pcm_seconds(speak(client, model="gpt-4o-mini-tts", input=LONG, response_format="pcm"))
    assert pcm_seconds(audio) == pytest.approx(whole, rel=0.15)


def test_sse_chunks_are_the_requested_format(client):
    events = sse_events(client, input=SHORT, response_format="mp3")
    audio = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "speech.audio.delta")
    codec, duration = probe(audio)
    assert codec.startswith("mp3") and 2.0 < duration < 6.0


def test_first_byte_arrives_while_the_rest_is_still_being_synthesised(client, server, monkeypatch):
    """Order, not timing: Piper is held after its first piece (tests/holds.py) until the client
    has that piece's audio; a server that waited for the whole text would never send it."""
    entry = server.services.registry.entries["piper"]
    hold = hold_synthesis(monkeypatch, entry.worker)
    pieces = speech_pieces(LONG, first_chars=server.settings.speech.first_chars)
    received = []
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=LONG, response_format="pcm"
    ) as response:
        chunks = response.iter_bytes()
        received.append(next(chunks))
        synthesis_went_on = hold.finished.is_set() or hold.release.is_set()
        running = entry.queue.running
        hold.release.set()
        received.extend(chunks)
    assert not synthesis_went_on and running == 1, "the whole text was synthesised before the first byte was sent"
    assert hold.reached.is_set() and not hold.cancelled
    assert len(received) >= len(pieces) > 5
    assert pcm_seconds(b"".join(received)) > 10


def test_disconnect_stops_synthesis(client, server, monkeypatch):
    entry = server.services.registry.entries["piper"]
    before = entry.worker.cancelled
    hold = hold_synthesis(monkeypatch, entry.worker)  # after its first piece, until the client is gone
    text = " ".join(f"This is sentence number {i} of a very long text that nobody will listen to." for i in range(50))
    with client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=text, response_format="mp3"
    ) as response:
        next(response.iter_bytes())  # the first audio arrived: hang up
    deadline = time.monotonic() + 120
    while entry.worker.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hold.cancelled, "the client's leaving did not reach the synthesis"
    assert entry.worker.cancelled == before + 1, "the worker kept synthesising for a client that left"
    while entry.queue.admitted and time.monotonic() < deadline:
        time.sleep(0.05)
    assert entry.queue.admitted == 0


def test_instructions_pace_words_change_the_speed(client):
    plain = pcm_seconds(speak(client, model="gpt-4o-mini-tts", input=LONG, response_format="pcm"))
    quick = pcm_seconds(
        speak(client, model="gpt-4o-mini-tts", input=LONG, response_format="pcm", instructions="Speak very quickly.")
    )
    styled = pcm_seconds(
        speak(client, model="gpt-4o-mini-tts", input=LONG, response_format="pcm", instructions="Sound cheerful.")
    )
    assert quick < 0.8 * plain
    assert styled == pytest.approx(plain, rel=0.15)  # ignored, not half-followed


def _assert_error(error: openai.APIStatusError, status: int, param: str | None) -> None:
    assert error.status_code == status
    body = error.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"} and body["message"]
    assert body["param"] == param
    assert error.response.headers["content-type"] == "application/json"
    assert error.response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("params", "status", "param"),
    [
        ({"input": ""}, 400, "input"),
        ({"input": "   "}, 400, "input"),
        ({"input": "a" * 4097}, 400, "input"),
        ({"speed": 0.2}, 400, "speed"),
        ({"speed": 4.5}, 400, "speed"),
        ({"voice": "bob"}, 400, "voice"),
        ({"voice": {"id": "voice_1234"}}, 404, "voice"),
        ({"response_format": "ogg"}, 400, "response_format"),
        ({"model": "tts-2"}, 404, "model"),
        ({"model": "whisper-1"}, 404, "model"),  # a transcription model does not speak
        ({"stream_format": "sse"}, 400, "stream_format"),  # not with tts-1
        ({"instructions": "Speak slowly."}, 400, "instructions"),  # not with tts-1
        ({"model": "gpt-4o-mini-tts", "instructions": "x" * 4097}, 400, "instructions"),
        ({"model": "gpt-4o-mini-tts", "stream_format": "json"}, 400, "stream_format"),
    ],
)
def test_bad_input_is_refused_before_the_first_byte(client, params, status, param):
    with pytest.raises(openai.APIStatusError) as caught:
        speak(client, **params)
    _assert_error(caught.value, status, param)


def test_unknown_fields_and_missing_fields(server):
    url = f"{server.base_url}/audio/speech"
    extra = httpx.post(url, json={"model": "tts-1", "voice": "alloy", "input": "Hi.", "volume": 2})
    assert extra.status_code == 400 and extra.json()["error"]["param"] == "volume"
    missing = httpx.post(url, json={"model": "tts-1", "input": "Hi."})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "voice"
    garbled = httpx.post(url, content=b"{not json", headers={"content-type": "application/json"})
    assert garbled.status_code == 400


def test_server_keeps_serving_after_bad_input(client):
    for params in ({"input": ""}, {"speed": 9}, {"voice": "nobody"}, {"model": "nope"}):
        with pytest.raises(openai.APIStatusError):
            speak(client, **params)
    assert pcm_seconds(speak(client, response_format="pcm")) > 2.0


async def test_async_client_streams(async_client, client):
    async with async_client.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="sage", input=SHORT, response_format="opus"
    ) as response:
        data = b"".join([chunk async for chunk in response.iter_bytes()])
    codec, duration = probe(data)
    assert codec == "opus" and 2.0 < duration < 6.0
    heard = client.audio.transcriptions.create(model="whisper-1", file=("speech.ogg", data)).text
    assert word_error_rate(SHORT, heard) < 0.25, heard


@pytest.mark.slow
def test_round_trip_through_whisper(client):
    """Sentences spoken by the gateway come back from the gateway's own whisper-1."""
    sentences = [
        "The weather is nice today, so we will walk to the park after lunch.",
        "Please remember to buy bread, milk and a dozen eggs on your way home.",
        "The meeting has been moved to Thursday afternoon because the room was booked.",
        "She opened the window and listened to the birds singing in the garden.",
        "Our train leaves at eight in the morning, so we should pack our bags tonight.",
    ]
    text = " ".join(sentences)
    audio = speak(client, input=text, response_format="flac")
    transcript = client.audio.transcriptions.create(model="whisper-1", file=("speech.flac", audio), language="en")
    # "eight" written as "8" is Whisper's choice of form, not a word heard wrong
    assert word_error_rate(text, transcript.text, split=_words_spelled) < 0.08, transcript.text


_DIGITS = dict(enumerate("zero one two three four five six seven eight nine ten eleven twelve".split()))


def _words_spelled(text: str) -> list[str]:
    return [_DIGITS.get(int(w), w) if w.isdigit() else w for w in words(text)]


def test_full_queue_answers_429_before_any_audio(start_server, monkeypatch):
    server = start_server(
        transcription={"models": {"base": {"preload": False}}},
        speech={"queue": {"max_parallel": 1, "max_queue": 0, "retry_after_s": 4}},
    )
    queue = server.services.registry.entries["piper"].queue
    hold_synthesis(monkeypatch, server.services.registry.entries["piper"].worker)  # busy until it is hung up
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    with sdk.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=" ".join([LONG] * 8), response_format="pcm"
    ) as busy:
        chunks = busy.iter_bytes()  # keep the iterator: dropping it hangs up
        next(chunks)  # the only place is taken while this long text is synthesised
        assert queue.admitted == 1
        with pytest.raises(openai.RateLimitError) as caught:
            speak(sdk)
    _assert_error(caught.value, 429, None)
    assert caught.value.response.headers["retry-after"] == "4"
    deadline = time.monotonic() + 120
    while queue.admitted and time.monotonic() < deadline:  # the hung-up stream frees its place
        time.sleep(0.05)
    monkeypatch.undo()
    assert 2.0 < pcm_seconds(speak(sdk, response_format="pcm")) < 6.0


def test_a_voice_map_naming_a_missing_voice_is_a_clear_503(start_server):
    server = start_server(
        transcription={"models": {"base": {"preload": False}}},
        speech={"voices": {"alloy": "en_US-nobody-medium"}},
    )
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    with pytest.raises(openai.InternalServerError) as caught:
        speak(sdk)
    assert caught.value.status_code == 503
    assert "en_US-nobody-medium" in caught.value.response.json()["error"]["message"]
    assert httpx.get(f"{server.url}/health/ready").json()["models"]["piper"]["error"]
