"""A Realtime transcription session through nginx: the WebSocket upgrade passes the balancer."""

from __future__ import annotations

import asyncio
import base64

import numpy as np
from openai import AsyncOpenAI

from tests.helpers import read_audio, word_error_rate
from tests.system.conftest import Cluster

FOX = "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer."


async def test_a_realtime_session_through_the_balancer(healthy: Cluster, fixture_audio):
    client = AsyncOpenAI(base_url=healthy.base_url, api_key="sk-test", max_retries=0)
    pcm = (np.clip(read_audio(fixture_audio("en_fox.flac"), 24000), -1, 1) * 32767).astype("<i2").tobytes()
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        assert (await asyncio.wait_for(conn.recv(), 60)).type == "session.created"
        await conn.session.update(session={"type": "transcription", "audio": {"input": {"turn_detection": None}}})
        for start in range(0, len(pcm), 4800):
            await conn.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 4800]).decode())
        await conn.input_audio_buffer.commit()
        while (event := await asyncio.wait_for(conn.recv(), 300)).type != (
            "conversation.item.input_audio_transcription.completed"
        ):
            assert event.type != "error", event
    assert word_error_rate(FOX, event.transcript) < 0.2, event.transcript
    requests = [line for line in healthy.balancer_log() if line["uri"].startswith("/v1/realtime")]
    assert requests and requests[-1]["status"] == 101
