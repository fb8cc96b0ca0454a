"""Ephemeral keys for browsers: POST /v1/realtime/client_secrets, then a session opened with the key.

Two replicas share one database (the SQLite file of the data directory): a key minted on one
opens sessions on the other.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import openai
import pytest
import websockets
from openai import AsyncOpenAI

from gateway.middleware import tenant_of
from tests.api.test_realtime import (
    EVENT_TIMEOUT_S,
    FOX,
    TRANSCRIPTION,
    append,
    next_event,
    pcm16,
    transcripts,
    ws_url,
)
from tests.helpers import KEY_A, read_audio, word_error_rate

MANUAL_TINY = {
    "type": "transcription",
    "audio": {"input": {"turn_detection": None, "transcription": {"model": "tiny.en", "language": "en"}}},
}


@pytest.fixture(scope="module")
def replicas(start_server):
    """Two replicas with API keys on one database."""
    return start_server(api_keys=[KEY_A]), start_server(api_keys=[KEY_A])


def sdk(server: Any, key: str) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=300)


async def test_a_key_minted_on_one_replica_opens_a_configured_session_on_another(replicas, fixture_audio):
    first, second = replicas
    before = int(time.time())
    secret = await sdk(first, KEY_A).realtime.client_secrets.create(session=MANUAL_TINY)
    assert secret.value.startswith("ek_") and len(secret.value) > 32
    assert before + 600 <= secret.expires_at <= int(time.time()) + 600  # the default life: 10 minutes
    assert secret.session.type == "transcription" and secret.session.id.startswith("sess_")
    assert secret.session.audio.input.transcription.model == "tiny.en"
    stored = await second.services.client_secret(secret.value)
    assert stored.tenant == tenant_of(KEY_A)  # bound to the key that made it

    conn = await sdk(second, secret.value).realtime.connect(**TRANSCRIPTION).enter()
    try:
        created = await next_event(conn)
        assert created.type == "session.created"
        assert created.session.audio.input.turn_detection is None  # the minted configuration
        assert created.session.audio.input.transcription.model == "tiny.en"
        await append(conn, pcm16(read_audio(fixture_audio("en_fox.flac"), 24000)))
        await conn.input_audio_buffer.commit()
        done = [e for e in await transcripts(conn, 1) if e.type.endswith(".completed")]
        assert word_error_rate(FOX, done[0].transcript) < 0.2, done[0].transcript
    finally:
        await conn.close()


async def test_browsers_send_the_ephemeral_key_as_a_subprotocol(replicas):
    first, _ = replicas
    secret = await sdk(first, KEY_A).realtime.client_secrets.create(
        expires_after={"anchor": "created_at", "seconds": 60}
    )
    assert secret.expires_at <= int(time.time()) + 60
    protocols = ["realtime", f"openai-insecure-api-key.{secret.value}"]
    for replica in replicas:  # a key opens several sessions while it lives
        async with websockets.connect(ws_url(replica), subprotocols=protocols) as ws:
            assert ws.subprotocol == "realtime"
            created = json.loads(await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S))
            assert created["type"] == "session.created"
            assert created["session"]["audio"]["input"]["turn_detection"]["type"] == "server_vad"  # the defaults


async def test_unknown_and_expired_keys_are_refused(replicas):
    first, _ = replicas
    value = "ek_" + "0" * 48
    past = int(time.time()) - 1
    await first.services.store.run(first.services.store.create_client_secret, tenant_of(KEY_A), value, "{}", past)
    for key in ("ek_unknown", value):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            await sdk(first, key).realtime.connect(**TRANSCRIPTION).enter()
        assert refused.value.response.status_code == 401
        error = json.loads(refused.value.response.body)["error"]
        assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key", error
        assert ("expired" in error["message"]) == (key == value)


async def test_an_ephemeral_key_opens_sessions_and_nothing_else(replicas):
    first, _ = replicas
    secret = await sdk(first, KEY_A).realtime.client_secrets.create()
    browser = sdk(first, secret.value)
    with pytest.raises(openai.PermissionDeniedError) as minting:  # a leaked key cannot extend its own life
        await browser.realtime.client_secrets.create()
    assert minting.value.body["code"] == "ephemeral_key_not_allowed"
    with pytest.raises(openai.PermissionDeniedError):
        await browser.models.list()
    with pytest.raises(openai.AuthenticationError):  # and no key, no secret
        await sdk(first, "wrong").realtime.client_secrets.create()


@pytest.mark.parametrize(
    "body,param",
    [
        ({"expires_after": {"anchor": "created_at", "seconds": 9}}, "expires_after"),
        ({"expires_after": {"anchor": "created_at", "seconds": 7201}}, "expires_after"),
        ({"expires_after": {"anchor": "now", "seconds": 60}}, "expires_after"),
        ({"session": {"type": "realtime"}}, "session.type"),
        (
            {"session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/wav"}}}}},
            "session.audio",
        ),
        ({"session": {"type": "transcription", "audio": {"input": {"transcription": {"model": "nope"}}}}}, "model"),
    ],
)
async def test_bad_requests_name_the_parameter(replicas, body, param):
    first, _ = replicas
    async with httpx.AsyncClient(timeout=300) as http:
        answer = await http.post(
            f"{first.base_url}/realtime/client_secrets", json=body, headers={"Authorization": f"Bearer {KEY_A}"}
        )
    assert answer.status_code in (400, 404), answer.text
    error = answer.json()["error"]
    assert (error["param"] or "").startswith(param), error
