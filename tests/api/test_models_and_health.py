"""/v1/models, /health, /health/ready, and streams that the client abandons."""

from __future__ import annotations

import time

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import encode, read_audio
from tests.holds import hold_after_first_segment

ALIASES = [
    "whisper-1",
    "gpt-4o-transcribe",
    "gpt-4o-mini-transcribe",
    "gpt-4o-mini-transcribe-2025-12-15",
    "gpt-transcribe",
]


def test_models_list_includes_aliases(client):
    ids = {m.id for m in client.models.list()}
    assert {"base", "tiny.en", *ALIASES} <= ids
    for model in client.models.list():
        assert model.object == "model" and model.owned_by and model.created > 0


def test_model_retrieve(client):
    assert client.models.retrieve("whisper-1").id == "whisper-1"
    assert client.models.retrieve("tiny.en").id == "tiny.en"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-5-imaginary")


def test_health_and_readiness(server):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/health/ready")
    assert ready.status_code == 200
    models = ready.json()["models"]
    assert models["base"]["loaded"] is True  # preloaded by the default config
    assert set(models) >= {"base", "tiny.en"}
    storage = ready.json()["storage"]
    assert storage["backend"] == "sqlite" and storage["revision"] and storage["error"] is None


def test_disconnect_stops_decoding(client, server, fixture_audio, monkeypatch):
    clip = read_audio(fixture_audio("en_fox.flac"))
    pause = np.zeros(8000, np.float32)
    long_audio = encode(np.concatenate([np.concatenate([clip, pause])] * 12), "flac")  # ~85 s, many segments
    entry = server.services.registry.entries["tiny.en"]
    before = entry.worker.cancelled
    hold = hold_after_first_segment(monkeypatch, entry.worker)  # however fast this machine decodes the rest
    with client.audio.transcriptions.with_streaming_response.create(
        model="tiny.en", file=("long.flac", long_audio), stream=True
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # the first delta arrived: hang up
    deadline = time.monotonic() + 120
    while entry.worker.cancelled == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert entry.worker.cancelled == before + 1, "the worker kept decoding for a client that left"
    assert hold.cancelled
    while entry.queue.admitted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert entry.queue.admitted == 0
