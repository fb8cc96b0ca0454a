"""Realtime transcription sessions (`/v1/realtime?intent=transcription`) through the official SDK's realtime client.

Audio is sent in real-time-sized chunks (100 ms) but as fast as the socket takes it: turn
detection works on audio time, so the turns do not depend on the pace.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI

from tests.helpers import KEY_A, metric, read_audio, word_error_rate
from tests.holds import hold_transcription

FOX = "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer."
WEATHER = "Today the weather is sunny and warm. Tomorrow it will rain in the morning."
TRANSCRIPTION = {"extra_query": {"intent": "transcription"}}
EVENT_TIMEOUT_S = 300  # a guard against a hung test, not a measurement


def pcm16(samples: np.ndarray) -> bytes:
    """float32 samples -> pcm16 little-endian bytes."""
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def silence(seconds: float, rate: int = 24000) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


async def append(conn: Any, audio: bytes, chunk_bytes: int = 4800) -> None:
    """Audio in 100 ms appends (pcm16 at 24 kHz), sent as fast as the socket takes them."""
    for start in range(0, len(audio), chunk_bytes):
        await conn.input_audio_buffer.append(audio=base64.b64encode(audio[start : start + chunk_bytes]).decode())


async def next_event(conn: Any) -> Any:
    return await asyncio.wait_for(conn.recv(), EVENT_TIMEOUT_S)


async def events_until(conn: Any, type_: str, count: int = 1) -> list[Any]:
    """Every event up to and including the `count`th of type `type_`."""
    seen: list[Any] = []
    while sum(e.type == type_ for e in seen) < count:
        seen.append(await next_event(conn))
    return seen


async def transcripts(conn: Any, turns: int) -> list[Any]:
    """Events until `turns` turns have ended in a completed or failed transcription."""
    seen: list[Any] = []
    while sum(e.type.endswith((".completed", ".failed")) for e in seen) < turns:
        seen.append(await next_event(conn))
    return seen


async def open_session(client: AsyncOpenAI, session: dict[str, Any] | None = None) -> Any:
    """A connected session; with `session`, updated and its `session.updated` read."""
    conn = await client.realtime.connect(**TRANSCRIPTION).enter()
    created = await next_event(conn)
    assert created.type == "session.created"
    if session is not None:
        await conn.session.update(session={"type": "transcription", **session})
        updated = await next_event(conn)
        assert updated.type == "session.updated", updated
    return conn


def manual(model: str = "whisper-1", **audio_input: Any) -> dict[str, Any]:
    """A session configuration with manual turns (turn_detection null)."""
    return {
        "audio": {"input": {"turn_detection": None, "transcription": {"model": model, "language": "en"}, **audio_input}}
    }


async def test_session_created_shows_the_defaults(async_client):
    conn = await async_client.realtime.connect(**TRANSCRIPTION).enter()
    try:
        created = await next_event(conn)
        session = created.session
        assert created.type == "session.created"
        assert session.type == "transcription"
        assert session.audio.input.format.type == "audio/pcm" and session.audio.input.format.rate == 24000
        assert session.audio.input.turn_detection.type == "server_vad"
        assert session.audio.input.turn_detection.silence_duration_ms == 500
        assert session.audio.input.transcription.model == "whisper-1"
    finally:
        await conn.close()


async def test_the_session_sent_back_with_a_change_is_an_update(async_client):
    conn = await async_client.realtime.connect(**TRANSCRIPTION).enter()
    try:
        created = await next_event(conn)
        session = created.session.model_dump(exclude_none=True)
        session["audio"]["input"]["transcription"]["language"] = "en"
        await conn.session.update(session=session)
        updated = await next_event(conn)
        assert updated.type == "session.updated", updated
        assert updated.session.audio.input.transcription.language == "en"
        assert updated.session.id == created.session.id
    finally:
        await conn.close()


async def test_server_vad_turns_match_the_file_transcription(async_client, fixture_audio):
    """A two-speaker call: turns found by server VAD, transcribed as they end, say what the file says."""
    path = fixture_audio("pyannote_sample/sample.wav")
    whole = await async_client.audio.transcriptions.create(model="whisper-1", file=path)
    conn = await open_session(async_client, {"audio": {"input": {"transcription": {"model": "whisper-1"}}}})
    try:
        await append(conn, pcm16(np.concatenate([read_audio(path, 24000), silence(1.0)])))
        # events are handled in order: once `cleared` is back, every turn of the audio has been committed
        await conn.input_audio_buffer.clear()
        seen = await events_until(conn, "input_audio_buffer.cleared")
        committed = [e for e in seen if e.type == "input_audio_buffer.committed"]
        seen += await transcripts(conn, len(committed) - sum(e.type.endswith(".completed") for e in seen))
    finally:
        await conn.close()
    done = [e for e in seen if e.type.endswith(".completed")]
    started = [e for e in seen if e.type == "input_audio_buffer.speech_started"]
    stopped = [e for e in seen if e.type == "input_audio_buffer.speech_stopped"]
    assert len(committed) >= 2, "a conversation has more than one turn"
    assert len(started) == len(stopped) == len(committed) == len(done)
    assert not [e for e in seen if e.type in ("error", "conversation.item.input_audio_transcription.failed")]
    # one item per turn, announced at speech start, in order, chained by previous_item_id
    assert [e.item_id for e in started] == [e.item_id for e in stopped] == [e.item_id for e in committed]
    assert [e.item_id for e in done] == [e.item_id for e in committed]
    assert [e.previous_item_id for e in committed] == [None] + [e.item_id for e in committed[:-1]]
    for start, stop in zip(started, stopped, strict=True):
        assert start.audio_start_ms < stop.audio_end_ms
    for stop, start in zip(stopped, started[1:], strict=False):  # the last stop has no next start
        assert stop.audio_end_ms <= start.audio_start_ms
    # the deltas of an item (interim ones while it was spoken, then the rest) say its transcript
    for item in done:
        deltas = "".join(e.delta for e in seen if e.type.endswith(".delta") and e.item_id == item.item_id)
        assert word_error_rate(item.transcript, deltas) < 0.25, (item.transcript, deltas)
        assert item.usage.type == "duration" and item.usage.seconds >= 1
    live = " ".join(e.transcript for e in done)
    assert word_error_rate(whole.text, live) < 0.15, (whole.text, live)


async def test_turns_split_at_silence_each_transcribed_alone(async_client, fixture_audio):
    weather = read_audio(fixture_audio("en_weather.flac"), 24000)
    fox = read_audio(fixture_audio("en_fox.flac"), 24000)
    audio = np.concatenate([silence(0.5), weather, silence(1.5), fox, silence(1.5)])
    conn = await open_session(
        async_client,
        {
            "audio": {
                "input": {
                    "transcription": {"model": "tiny.en"},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 800},
                }
            }
        },
    )
    try:
        await append(conn, pcm16(audio))
        seen = await transcripts(conn, 2)
    finally:
        await conn.close()
    done = [e for e in seen if e.type.endswith(".completed")]
    assert word_error_rate(WEATHER, done[0].transcript) < 0.2, done[0].transcript
    assert word_error_rate(FOX, done[1].transcript) < 0.2, done[1].transcript
    started = [e for e in seen if e.type == "input_audio_buffer.speech_started"]
    # the leading half second of silence is not speech (less the 300 ms of prefix padding)
    assert 200 <= started[0].audio_start_ms < 1500


async def test_interim_deltas_while_a_turn_is_still_spoken(async_client, fixture_audio):
    """Eight seconds of a thirty-second turn: its first words arrive before the turn ends."""
    path = fixture_audio("en_story.flac")
    whole = await async_client.audio.transcriptions.create(model="tiny.en", file=path)
    story = read_audio(path, 24000)
    conn = await open_session(async_client, {"audio": {"input": {"transcription": {"model": "tiny.en"}}}})
    try:
        await append(conn, pcm16(story[: 8 * 24000]))
        seen = await events_until(conn, "conversation.item.input_audio_transcription.delta")
        assert [e.type for e in seen] == [
            "input_audio_buffer.speech_started",
            "conversation.item.input_audio_transcription.delta",
        ]
        interim = seen[-1].delta
        spoken = whole.text.split()[: len(interim.split())]
        assert interim and word_error_rate(" ".join(spoken), interim) < 0.3, (interim, whole.text)
        await append(conn, pcm16(np.concatenate([story[8 * 24000 :], silence(1.5)])))
        seen += await transcripts(conn, 1)
    finally:
        await conn.close()
    done = next(e for e in seen if e.type.endswith(".completed"))
    assert all(e.item_id == done.item_id for e in seen if e.type.endswith(".delta"))
    assert word_error_rate(whole.text, done.transcript) < 0.1, (whole.text, done.transcript)
    deltas = "".join(e.delta for e in seen if e.type.endswith(".delta"))
    assert word_error_rate(done.transcript, deltas) < 0.25, (done.transcript, deltas)


async def test_manual_commits_with_turn_detection_off(async_client, fixture_audio):
    conn = await open_session(async_client, manual("tiny.en"))
    try:
        for text, name in ((WEATHER, "en_weather.flac"), (FOX, "en_fox.flac")):
            await append(conn, pcm16(read_audio(fixture_audio(name), 24000)))
            await conn.input_audio_buffer.commit()
            seen = await transcripts(conn, 1)
            assert not [e for e in seen if "speech_" in e.type], "no VAD events with turn_detection null"
            committed = [e for e in seen if e.type == "input_audio_buffer.committed"]
            done = [e for e in seen if e.type.endswith(".completed")]
            assert len(committed) == 1 and done[0].item_id == committed[0].item_id
            deltas = [e.delta for e in seen if e.type.endswith(".delta")]
            assert "".join(deltas).strip() == done[0].transcript  # one delta per decoded segment
            assert word_error_rate(text, done[0].transcript) < 0.2, done[0].transcript
    finally:
        await conn.close()


async def test_sessions_and_turns_in_metrics(async_client, server, fixture_audio):
    import httpx

    async def scrape() -> str:
        async with httpx.AsyncClient() as http:
            return (await http.get(f"{server.url}/metrics")).text

    conn = await open_session(async_client, manual("tiny.en"))
    try:
        text = await scrape()
        before = metric(text, "gateway_realtime_turns_total", model="tiny.en", outcome="completed")
        assert metric(text, "gateway_realtime_sessions") >= 1
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        await transcripts(conn, 1)
    finally:
        await conn.close()
    text = await scrape()
    assert metric(text, "gateway_realtime_turns_total", model="tiny.en", outcome="completed") == before + 1
    assert metric(text, "gateway_realtime_transcript_delay_seconds_count", model="tiny.en") >= 1


async def test_a_whole_recording_in_one_append(async_client, fixture_audio):
    conn = await open_session(async_client, manual("tiny.en"))
    try:
        audio = pcm16(read_audio(fixture_audio("en_fox.flac"), 24000))
        await append(conn, audio, chunk_bytes=len(audio))
        await conn.input_audio_buffer.commit()
        done = [e for e in await transcripts(conn, 1) if e.type.endswith(".completed")]
        assert word_error_rate(FOX, done[0].transcript) < 0.2, done[0].transcript
    finally:
        await conn.close()


async def test_clear_and_empty_commit(async_client, fixture_audio):
    conn = await open_session(async_client, manual("tiny.en"))
    try:
        await append(conn, pcm16(read_audio(fixture_audio("en_weather.flac"), 24000)))
        await conn.input_audio_buffer.clear()
        assert (await next_event(conn)).type == "input_audio_buffer.cleared"
        await conn.input_audio_buffer.commit(event_id="event_client_1")
        error = await next_event(conn)
        assert error.type == "error"
        assert error.error.code == "input_audio_buffer_commit_empty"
        assert error.error.type == "invalid_request_error" and error.error.event_id == "event_client_1"
        # still usable
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        done = [e for e in await transcripts(conn, 1) if e.type.endswith(".completed")]
        assert word_error_rate(FOX, done[0].transcript) < 0.2
    finally:
        await conn.close()


@pytest.mark.parametrize("fmt,codec", [("audio/pcmu", "pcm_mulaw"), ("audio/pcma", "pcm_alaw")])
async def test_g711_input(async_client, fixture_audio, fmt, codec):
    import av

    samples = read_audio(fixture_audio("en_fox.flac"), 8000)
    encoder = av.CodecContext.create(codec, "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    frame = av.AudioFrame.from_ndarray(
        (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = 8000
    g711 = b"".join(bytes(p) for p in [*encoder.encode(frame), *encoder.encode(None)])
    assert len(g711) == len(samples)
    conn = await open_session(async_client, manual("tiny.en", format={"type": fmt}))
    try:
        await append(conn, g711, chunk_bytes=800)
        await conn.input_audio_buffer.commit()
        done = [e for e in await transcripts(conn, 1) if e.type.endswith(".completed")]
        assert word_error_rate(FOX, done[0].transcript) < 0.2, done[0].transcript
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "change",
    [
        {"format": {"type": "audio/pcmu"}},  # samples of another format cannot continue the turn
        {"turn_detection": {"type": "server_vad", "silence_duration_ms": 800}},  # nor other rules judge it
    ],
)
async def test_an_update_that_drops_a_turn_in_progress_says_so(async_client, fixture_audio, change):
    """The buffered half of a turn is not lost silently: `input_audio_buffer.cleared` comes before
    `session.updated`, so a client that saw `speech_started` knows the turn is gone (a new user's finding)."""
    speech = pcm16(read_audio(fixture_audio("en_fox.flac"), 24000))
    conn = await open_session(async_client, {"audio": {"input": {"transcription": {"model": "tiny.en"}}}})
    try:
        await append(conn, speech[: len(speech) // 2])
        assert (await next_event(conn)).type == "input_audio_buffer.speech_started"
        await conn.session.update(session={"type": "transcription", "audio": {"input": change}})
        assert [(await next_event(conn)).type for _ in range(2)] == ["input_audio_buffer.cleared", "session.updated"]
    finally:
        await conn.close()


async def test_logprobs_when_included(async_client, fixture_audio):
    conn = await open_session(
        async_client, {**manual("tiny.en"), "include": ["item.input_audio_transcription.logprobs"]}
    )
    try:
        await append(conn, pcm16(read_audio(fixture_audio("en_weather.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        seen = await transcripts(conn, 1)
    finally:
        await conn.close()
    done = next(e for e in seen if e.type.endswith(".completed"))
    assert done.logprobs and all(lp.logprob <= 0 for lp in done.logprobs)
    assert "".join(lp.token for lp in done.logprobs).strip() == done.transcript
    assert all(e.logprobs for e in seen if e.type.endswith(".delta"))


BAD_UPDATES = [
    ({"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}, "session.audio.input.format"),
    ({"audio": {"input": {"format": {"type": "audio/wav"}}}}, "session.audio.input.format.type"),
    (
        {"audio": {"input": {"turn_detection": {"type": "server_vad", "threshold": 1.5}}}},
        "session.audio.input.turn_detection.threshold",
    ),
    (
        {"audio": {"input": {"turn_detection": {"type": "semantic_vad", "eagerness": "fast"}}}},
        "session.audio.input.turn_detection.eagerness",
    ),
    ({"audio": {"input": {"turn_detection": {"type": "magic_vad"}}}}, "session.audio.input.turn_detection"),
    ({"audio": {"input": {"transcription": {"model": "no-such-model"}}}}, "model"),
    ({"audio": {"input": {"transcription": {"model": "tiny.en", "language": "de"}}}}, "language"),
    # refused at the update, not by every turn failing later (a new user's finding)
    (
        {"audio": {"input": {"transcription": {"model": "whisper-1", "language": "xx"}}}},
        "session.audio.input.transcription.language",
    ),
    ({"type": "realtime"}, "session.type"),
]


@pytest.mark.parametrize("model", ["gpt-live-transcribe", "gpt-realtime-whisper"])
async def test_the_realtime_only_model_ids_transcribe_live(async_client, fixture_audio, model):
    """The ids OpenAI has only for live sessions (a 400 for files) are the session default's model here."""
    conn = await open_session(async_client, manual(model))
    try:
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        done = next(e for e in await transcripts(conn, 1) if e.type.endswith(".completed"))
        assert word_error_rate(FOX, done.transcript) < 0.2, done.transcript
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("sent", "code"),
    # spelled as the file endpoint reads it; a deprecated code is read as today's
    [("en-US", "en"), ("EN", "en"), ("english", "en"), ("iw", "he"), ("jw", "jv"), ("in-ID", "id")],
)
async def test_a_language_is_read_as_the_file_endpoint_reads_it(async_client, sent, code):
    conn = await open_session(async_client)
    try:
        audio = {"input": {"transcription": {"model": "whisper-1", "language": sent}}}
        await conn.session.update(session={"type": "transcription", "audio": audio})
        updated = await next_event(conn)
        assert updated.type == "session.updated", updated
        assert updated.session.audio.input.transcription.language == code
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("transcription", "param", "length"),
    [
        ({"model": "whisper-1", "language": "x" * 5000}, "language", 5000),
        ({"model": "m" * 100_000}, "model", 100_000),
        ({"model": "whisper-1", "language": "yue"}, "language", None),  # base has no Cantonese
    ],
)
async def test_error_events_cut_what_the_client_sent(async_client, transcription, param, length):
    conn = await open_session(async_client)
    try:
        audio = {"input": {"transcription": transcription}}
        await conn.send({"type": "session.update", "session": {"type": "transcription", "audio": audio}})
        error = await next_event(conn)
        assert error.type == "error" and (error.error.param or "").endswith(param), error
        if length is None:
            assert "`yue`" in error.error.message, error
        else:
            assert len(error.error.message) < 400 and f"... ({length} characters)" in error.error.message
    finally:
        await conn.close()


async def test_bad_events_are_error_events_and_the_session_goes_on(async_client, fixture_audio):
    conn = await open_session(async_client, manual("tiny.en"))
    try:
        for update, param in BAD_UPDATES:
            await conn.send({"type": "session.update", "session": {"type": "transcription", **update}})
            error = await next_event(conn)
            assert error.type == "error", (update, error)
            assert error.error.type == "invalid_request_error", error
            assert (error.error.param or "").startswith(param), (param, error.error)
        await conn.send({"type": "input_audio_buffer.append", "audio": "not base64!", "event_id": "event_bad_audio"})
        error = await next_event(conn)
        assert error.error.param == "audio" and error.error.event_id == "event_bad_audio"
        await conn.send({"type": "response.create"})  # a conversation event: not served here
        error = await next_event(conn)
        assert error.error.param == "type" and error.error.code == "invalid_value"
        # the configuration was left as it was: manual turns with tiny.en
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        seen = await transcripts(conn, 1)
        assert not [e for e in seen if "speech_" in e.type]
        done = next(e for e in seen if e.type.endswith(".completed"))
        assert word_error_rate(FOX, done.transcript) < 0.2
    finally:
        await conn.close()


def ws_url(server: Any, query: str = "intent=transcription") -> str:
    return f"ws://127.0.0.1:{server.port}/v1/realtime?{query}"


async def test_invalid_json_and_binary_frames_on_the_wire(server):
    async with websockets.connect(ws_url(server)) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        for bad in ("{not json", b"\x00\x01", "[1, 2]"):
            await ws.send(bad)
            event = json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))
            assert event["type"] == "error"
            assert set(event["error"]) == {"message", "type", "param", "code", "event_id"}
            assert event["error"]["type"] == "invalid_request_error"
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert json.loads(await ws.recv())["type"] == "input_audio_buffer.cleared"


@pytest.mark.parametrize(
    "bad",
    [
        "[" * 5_000,  # parsed on the event loop: RecursionError escaped and the socket was dropped (issue 12's class 2)
        "[" * 100_000 + "]" * 100_000,  # a large message, parsed in a worker thread
        '{"type": "session.update", "session": ' + '{"a": ' * 900 + "1" + "}" * 901,  # just within the parser's depth
        '{"type": "input_audio_buffer.append", "audio": 1' + "0" * 5_000 + "}",  # an integer too long to convert
    ],
)
async def test_client_events_that_do_not_parse_are_error_events(server, bad):
    async with websockets.connect(ws_url(server), max_size=None) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(bad)
        event = json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))
        assert event["type"] == "error" and event["error"]["type"] == "invalid_request_error", event
        assert event["error"]["code"] in ("invalid_json", "unknown_parameter"), event
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))  # the session goes on
        assert json.loads(await ws.recv())["type"] == "input_audio_buffer.cleared"


async def test_a_fault_of_ours_ends_the_session_with_an_error_event_and_1011(server, monkeypatch):
    """An exception nobody mapped is said to the client (a server_error event) and the socket is
    closed as failed (1011), not dropped without a close frame; the next session is served."""
    from gateway.live_session import LiveSession

    real = LiveSession.handle

    async def faulty(self: LiveSession, text: str) -> None:  # the injected fault: a bug in a client event's handling
        if "fault-injected" in text:
            raise RuntimeError("injected fault")
        await real(self, text)

    monkeypatch.setattr(LiveSession, "handle", faulty)
    async with websockets.connect(ws_url(server)) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(json.dumps({"type": "input_audio_buffer.clear", "event_id": "fault-injected"}))
        event = json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))
        assert event["type"] == "error" and event["error"]["type"] == "server_error", event
        assert event["error"]["code"] == "internal_error"
        with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    async with websockets.connect(ws_url(server)) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert json.loads(await ws.recv())["type"] == "input_audio_buffer.cleared"


async def test_realtime_numbers_are_json_numbers(server):
    """`"silence_duration_ms": true` was read as 1 ms, `"threshold": "0.5"` as 0.5 (issue 12's class 9)."""
    async with websockets.connect(ws_url(server)) as ws:
        assert json.loads(await ws.recv())["type"] == "session.created"
        for field, value in (("silence_duration_ms", True), ("threshold", "0.5"), ("prefix_padding_ms", False)):
            session = {"audio": {"input": {"turn_detection": {"type": "server_vad", field: value}}}}
            await ws.send(json.dumps({"type": "session.update", "session": session}))
            event = json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))
            assert event["type"] == "error", event
            assert event["error"]["param"] == f"session.audio.input.turn_detection.{field}", event


async def test_a_conversation_session_is_refused(server):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(ws_url(server, "model=gpt-realtime")):
            pass
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body)["error"]["param"] == "intent"


@pytest.fixture(scope="module")
def guarded(start_server):
    """A server with API keys, one session per replica, 1 s appends and a short idle timeout."""
    return start_server(api_keys=[KEY_A], realtime={"max_sessions": 1, "max_append_bytes": 48000, "idle_timeout_s": 3})


def sdk_for(server: Any, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=300)


async def test_auth_is_required_when_keys_are_configured(guarded):
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await sdk_for(guarded, "wrong-key").realtime.connect(**TRANSCRIPTION).enter()
    assert refused.value.response.status_code == 401
    body = json.loads(refused.value.response.body)
    assert body["error"]["type"] == "authentication_error" and body["error"]["code"] == "invalid_api_key"
    conn = await open_session(sdk_for(guarded, KEY_A))
    await conn.close()


async def test_browser_clients_send_the_key_as_a_subprotocol(guarded):
    """OpenAI's browser client (Node SDK `OpenAIRealtimeWebSocket`) offers `realtime` and the key as subprotocols."""
    url = ws_url(guarded)
    for _ in range(200):  # the previous test's session may still be ending (one session per replica here)
        try:
            ws = await websockets.connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{KEY_A}"])
            break
        except websockets.exceptions.InvalidStatus as exc:
            assert exc.response.status_code == 429
            await asyncio.sleep(0.05)
    async with ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))["type"] == "session.created"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["realtime", "openai-insecure-api-key.wrong"]):
            pass
    assert refused.value.response.status_code == 401


async def test_session_limit_and_append_limit(guarded):
    client = sdk_for(guarded, KEY_A)
    conn = await reconnect(client, manual("tiny.en"))  # the previous test's session may still be ending
    try:
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await client.realtime.connect(**TRANSCRIPTION).enter()
        assert refused.value.response.status_code == 429
        body = json.loads(refused.value.response.body)
        assert body["error"]["type"] == "rate_limit_error" and body["error"]["code"] == "session_limit_reached"
        # one append over 48000 bytes is refused; the session stays
        await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48002)).decode())
        error = await next_event(conn)
        assert error.type == "error" and error.error.code == "input_audio_buffer_append_too_large"
        await conn.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
        await conn.input_audio_buffer.clear()
        assert (await next_event(conn)).type == "input_audio_buffer.cleared"
    finally:
        await conn.close()
    # the slot frees itself when the client goes away, even one that vanishes mid-turn
    vanishing = await reconnect(client)
    await vanishing.input_audio_buffer.append(audio=base64.b64encode(bytes(48000)).decode())
    await vanishing.input_audio_buffer.commit()
    await vanishing.close()
    again = await reconnect(client)
    await again.close()


async def reconnect(client: AsyncOpenAI, session: dict[str, Any] | None = None) -> Any:
    """A new session once the server has seen the last one end (it notices a close asynchronously)."""
    for _ in range(200):
        try:
            return await open_session(client, session)
        except websockets.exceptions.InvalidStatus as exc:
            assert exc.response.status_code == 429
            await asyncio.sleep(0.05)
    raise AssertionError("the session slot was never freed")


async def test_an_idle_session_is_closed_with_an_error_event(guarded):
    conn = await reconnect(sdk_for(guarded, KEY_A))
    try:
        error = await next_event(conn)  # nothing is sent: the server gives up on the session
        assert error.type == "error" and error.error.code == "session_idle_timeout"
        with pytest.raises(websockets.exceptions.ConnectionClosedOK):
            await next_event(conn)
    finally:
        await conn.close()


async def test_idle_time_counts_from_the_last_transcript(guarded, fixture_audio, monkeypatch):
    """A client waiting for a transcript longer than the idle timeout is not closed the moment it arrives."""
    registry = guarded.services.registry
    hold = hold_transcription(monkeypatch, registry.entries[registry.served["tiny.en"].worker].worker)
    conn = await reconnect(sdk_for(guarded, KEY_A), manual("tiny.en"))
    try:
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        await asyncio.to_thread(hold.wait_reached)
        await asyncio.sleep(4)  # the transcript takes longer than the idle timeout (3 s)
        hold.release.set()
        assert (await transcripts(conn, 1))[-1].type.endswith(".completed")
        await asyncio.sleep(1)  # the client reads it, then goes on within the idle time
        await conn.input_audio_buffer.clear()
        assert (await next_event(conn)).type == "input_audio_buffer.cleared"
    finally:
        hold.release.set()
        await conn.close()


async def test_draining_ends_sessions_with_a_final_event_and_refuses_new_ones(guarded):
    """Last in this module: the guarded server drains for good."""
    client = sdk_for(guarded, KEY_A)
    conn = await reconnect(client)
    try:
        guarded.services.drain.begin()
        error = await next_event(conn)
        assert error.type == "error" and error.error.code == "server_shutting_down"
        with pytest.raises(websockets.exceptions.ConnectionClosed):
            await next_event(conn)
    finally:
        await conn.close()
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await client.realtime.connect(**TRANSCRIPTION).enter()
    assert refused.value.response.status_code == 503
