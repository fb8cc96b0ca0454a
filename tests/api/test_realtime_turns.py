"""Realtime sessions: idle timeouts, semantic turn detection, noise reduction and the session's maximum time."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI

from models.live_audio import sounds_finished
from tests.api.test_realtime import (
    FOX,
    WEATHER,
    append,
    events_until,
    next_event,
    open_session,
    pcm16,
    silence,
    transcripts,
)
from tests.helpers import piper_speech, read_audio, word_error_rate


def vad_session(turn_detection: dict[str, Any] | None, **audio_input: Any) -> dict[str, Any]:
    return {
        "audio": {
            "input": {
                "transcription": {"model": "tiny.en", "language": "en"},
                "turn_detection": turn_detection,
                **audio_input,
            }
        }
    }


async def turns_of(client: AsyncOpenAI, session: dict[str, Any], audio: np.ndarray) -> list[Any]:
    """Every event of a session that hears `audio` (24 kHz), up to the transcripts of all its turns."""
    conn = await open_session(client, session)
    try:
        await append(conn, pcm16(audio))
        await conn.input_audio_buffer.clear()  # answered after every event of the audio before it
        seen = await events_until(conn, "input_audio_buffer.cleared")
        committed = sum(e.type == "input_audio_buffer.committed" for e in seen)
        seen += await transcripts(conn, committed - sum(e.type.endswith((".completed", ".failed")) for e in seen))
    finally:
        await conn.close()
    assert not [e for e in seen if e.type == "error"], seen
    return seen


def completed(seen: list[Any]) -> list[str]:
    return [e.transcript for e in seen if e.type.endswith(".completed")]


async def test_idle_timeout_triggers_and_commits_the_silence(async_client, fixture_audio):
    fox = read_audio(fixture_audio("en_fox.flac"), 24000)
    seen = await turns_of(
        async_client,
        vad_session({"type": "server_vad", "idle_timeout_ms": 2000}),
        np.concatenate([fox, silence(3.0)]),
    )
    kinds = [e.type for e in seen if e.type.startswith("input_audio_buffer.")]
    assert kinds[:3] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ], kinds
    assert kinds[3:5] == ["input_audio_buffer.timeout_triggered", "input_audio_buffer.committed"], kinds
    stopped = next(e for e in seen if e.type == "input_audio_buffer.speech_stopped")
    timeout = next(e for e in seen if e.type == "input_audio_buffer.timeout_triggered")
    assert timeout.audio_start_ms == stopped.audio_end_ms  # the silence counts from the end of the turn
    assert 2000 <= timeout.audio_end_ms - timeout.audio_start_ms < 2100
    committed = [e for e in seen if e.type == "input_audio_buffer.committed"]
    assert committed[1].item_id == timeout.item_id and committed[1].previous_item_id == committed[0].item_id
    transcripts_ = {e.item_id: e.transcript for e in seen if e.type.endswith(".completed")}
    assert word_error_rate(FOX, transcripts_[committed[0].item_id]) < 0.2
    assert timeout.item_id in transcripts_  # the silent item is transcribed too (OpenAI answers it)


@pytest.fixture(scope="module")
def pause_mid_sentence() -> np.ndarray:
    """A sentence with a pause of 0.8 s after "with", then 3 s of silence (24 kHz)."""
    first = read_audio(piper_speech("I would like to order a large pizza with"), 24000)
    second = read_audio(piper_speech("extra cheese and mushrooms, please."), 24000)
    return np.concatenate([silence(0.3), first, silence(0.8), second, silence(3.0)])


async def test_semantic_vad_ends_a_finished_sentence_at_a_short_pause(async_client, fixture_audio):
    weather = read_audio(fixture_audio("en_weather.flac"), 24000)
    fox = read_audio(fixture_audio("en_fox.flac"), 24000)
    audio = np.concatenate([silence(0.3), weather, silence(0.8), fox, silence(3.0)])
    eager = await turns_of(async_client, vad_session({"type": "semantic_vad", "eagerness": "high"}), audio)
    said = completed(eager)
    # each finished sentence ended its turn at the pause after it (the weather report's two sentences too)
    assert len(said) >= 2 and said[0].rstrip(".").lower().endswith("sunny and warm"), said
    assert all(sounds_finished(text) for text in said), said
    assert word_error_rate(f"{WEATHER} {FOX}", " ".join(said)) < 0.2, said
    patient = await turns_of(async_client, vad_session({"type": "semantic_vad", "eagerness": "low"}), audio)
    # low eagerness checks only pauses of a second: the short one inside the weather report is no turn end
    assert len(completed(patient)) < len(said), completed(patient)
    assert completed(patient)[0].rstrip(".").lower().endswith("in the morning"), completed(patient)


async def test_semantic_vad_waits_through_a_pause_mid_sentence(async_client, pause_mid_sentence):
    semantic = await turns_of(
        async_client, vad_session({"type": "semantic_vad", "eagerness": "high"}), pause_mid_sentence
    )
    said = completed(semantic)
    assert len(said) == 1, said  # "... a large pizza with" is not the end of a sentence
    assert "pizza" in said[0].lower() and "mushrooms" in said[0].lower(), said
    plain = await turns_of(async_client, vad_session({"type": "server_vad"}), pause_mid_sentence)
    assert len(completed(plain)) == 2  # server_vad's 500 ms of silence cut it


async def test_semantic_vad_is_shown_as_set(async_client):
    conn = await open_session(async_client, vad_session({"type": "semantic_vad", "eagerness": "low"}))
    try:
        await conn.session.update(session={"type": "transcription", **vad_session({"type": "semantic_vad"})})
        updated = await next_event(conn)
        assert updated.session.audio.input.turn_detection.type == "semantic_vad"
        assert updated.session.audio.input.turn_detection.eagerness == "auto"
    finally:
        await conn.close()


@pytest.mark.parametrize("kind", ["near_field", "far_field"])
async def test_noise_reduction_keeps_clean_speech_as_accurate(async_client, fixture_audio, kind):
    """The same clean recordings with and without the filter, in the same run: no more word errors."""
    recordings = [(WEATHER, "en_weather.flac"), (FOX, "en_fox.flac")]
    audio = [read_audio(fixture_audio(name), 24000) for _, name in recordings]
    errors = {}
    for reduction in (None, {"type": kind}):
        conn = await open_session(async_client, vad_session(None, noise_reduction=reduction))
        try:
            said = []
            for samples in audio:
                await append(conn, pcm16(samples))
                await conn.input_audio_buffer.commit()
                said += completed(await transcripts(conn, 1))
        finally:
            await conn.close()
        rates = [word_error_rate(text, heard) for (text, _), heard in zip(recordings, said, strict=True)]
        errors[kind if reduction else "off"] = sum(rates) / len(rates)
    print("word error rates, clean speech:", errors)
    assert errors[kind] <= errors["off"] + 0.02, errors


@pytest.fixture(scope="module")
def short_lived(start_server):
    return start_server(realtime={"max_session_s": 3})


async def test_a_session_ends_at_its_maximum_time_with_an_error_event(short_lived):
    client = AsyncOpenAI(base_url=short_lived.base_url, api_key="sk-test", max_retries=0, timeout=300)
    conn = await client.realtime.connect(extra_query={"intent": "transcription"}).enter()
    try:
        created = await next_event(conn)
        assert created.session.expires_at is not None
        await append(conn, pcm16(silence(1.0)))  # a session in use is closed all the same
        error = await next_event(conn)
        assert error.type == "error" and error.error.code == "session_expired", error
        assert "maximum duration of 3 seconds" in error.error.message
        with pytest.raises(websockets.exceptions.ConnectionClosedOK):
            await next_event(conn)
    finally:
        await conn.close()
