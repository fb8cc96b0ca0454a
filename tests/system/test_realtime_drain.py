"""SIGTERM to a real `audio-gateway serve` while a live session's turn is being transcribed:
the turn gets its transcript, then the session ends with `server_shutting_down` (close 1012),
and the process exits 0. (uvicorn's own shutdown would cut the socket with 1012 and no transcript.)"""

from __future__ import annotations

import asyncio
import base64
import signal

import pytest
import websockets
from openai import AsyncOpenAI

from bench.server import GatewayProcess
from tests.helpers import read_audio

STORY_WORDS = 20  # en_story.flac is a long turn: at least this many words come back
EVENT_TIMEOUT_S = 300  # a guard against a hung test, not a measurement


async def test_sigterm_lets_a_live_turn_finish_then_ends_the_session(fixture_audio):
    story = read_audio(fixture_audio("en_story.flac"), 24000)
    audio = (story.clip(-1, 1) * 32767).astype("<i2").tobytes()
    # drain_min_s 0: nothing but the live session holds the listener open once the drain begins
    with GatewayProcess(models=["tiny.en"], sections={"server": {"drain_min_s": 0}}) as gateway:
        client = AsyncOpenAI(base_url=gateway.base_url, api_key="unused", max_retries=0)
        conn = await client.realtime.connect(extra_query={"intent": "transcription"}).enter()
        events: list[str] = []
        try:
            turn = {"turn_detection": None, "transcription": {"model": "tiny.en", "language": "en"}}
            await conn.session.update(session={"type": "transcription", "audio": {"input": turn}})
            for start in range(0, len(audio), 48000):
                await conn.input_audio_buffer.append(audio=base64.b64encode(audio[start : start + 48000]).decode())
            await conn.input_audio_buffer.commit()
            committed = "input_audio_buffer.committed"
            while (await asyncio.wait_for(conn.recv(), EVENT_TIMEOUT_S)).type != committed:
                pass
            gateway.process.send_signal(signal.SIGTERM)  # while the turn is being transcribed
            transcript = None
            with pytest.raises(websockets.exceptions.ConnectionClosed) as closed:
                while True:
                    event = await asyncio.wait_for(conn.recv(), EVENT_TIMEOUT_S)
                    events.append(event.type if event.type != "error" else f"error:{event.error.code}")
                    if event.type == "conversation.item.input_audio_transcription.completed":
                        transcript = event.transcript
        finally:
            await conn.close()
        assert events[-2:] == ["conversation.item.input_audio_transcription.completed", "error:server_shutting_down"]
        assert transcript is not None and len(transcript.split()) >= STORY_WORDS, transcript
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
        assert gateway.process.wait(timeout=EVENT_TIMEOUT_S) == 0
