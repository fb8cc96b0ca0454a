"""Model lifecycle (memory budget, idle unload) and draining, on real models."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from tests.helpers import metric
from tests.holds import hold_transcription

LAZY = {"models": {"base": {"preload": False}, "tiny.en": {"preload": False}}}


def _states(server) -> dict[str, str]:
    return {name: m["state"] for name, m in httpx.get(f"{server.url}/health/ready").json()["models"].items()}


def _loads(server, model: str) -> float:
    return metric(httpx.get(f"{server.url}/metrics").text, "gateway_model_loads_total", model=model)


def test_memory_budget_unloads_idle_models_and_refuses_when_busy(start_server, fixture_audio, monkeypatch):
    # tiny.en (about 106 MiB) and base (about 170 MiB) each fit in 200 MiB, never both
    # (each loaded once: no second instance for encoding, which would double its weights).
    server = start_server(
        transcription=LAZY,
        speech={"preload": False},
        lifecycle={"memory_budget_mb": 200, "retry_after_s": 7},
        compute={"threads": {"whisper_encode": 1}},
    )
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    clip = fixture_audio("en_weather.flac")
    assert "weather" in sdk.audio.transcriptions.create(model="whisper-1", file=clip).text.lower()
    assert _states(server) == {"base": "loaded", "tiny.en": "unloaded", "piper": "unloaded", "diarize": "unloaded"}
    assert "weather" in sdk.audio.transcriptions.create(model="tiny.en", file=clip).text.lower()
    assert _states(server) == {"base": "unloaded", "tiny.en": "loaded", "piper": "unloaded", "diarize": "unloaded"}
    scraped = httpx.get(f"{server.url}/metrics").text
    assert metric(scraped, "gateway_model_unloads_total", model="base", reason="memory") == 1
    assert metric(scraped, "gateway_model_memory_used_bytes") <= metric(scraped, "gateway_model_memory_budget_bytes")

    # While tiny.en is busy there is no room for base: 503, retry later. tiny.en is held after
    # its first segment (tests/holds.py) until base has been refused, however fast it decodes.
    hold = hold_transcription(monkeypatch, server.services.registry.entries["tiny.en"].worker)
    busy = threading.Thread(target=sdk.audio.transcriptions.create, kwargs={"model": "tiny.en", "file": clip})
    busy.start()
    try:
        hold.wait_reached()
        with pytest.raises(openai.InternalServerError) as caught:
            sdk.audio.transcriptions.create(model="whisper-1", file=clip)
    finally:
        hold.release.set()
        busy.join()
    error = caught.value
    assert error.status_code == 503
    body = error.response.json()["error"]
    assert body["code"] == "insufficient_memory" and body["param"] == "model"
    assert "tiny.en" in body["message"]
    assert error.response.headers["retry-after"] == "7"
    # Once tiny.en is idle again, base gets its room.
    assert "weather" in sdk.audio.transcriptions.create(model="whisper-1", file=clip).text.lower()
    assert _states(server) == {"base": "loaded", "tiny.en": "unloaded", "piper": "unloaded", "diarize": "unloaded"}


def test_idle_models_are_unloaded_but_preloaded_ones_stay(start_server, fixture_audio):
    server = start_server(lifecycle={"idle_unload_s": 1})  # base is preloaded (pinned), tiny.en is not
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    sdk.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    # Counted, not read from the state: on a slow machine the idle second may be over before a
    # state read, and the model already unloaded again.
    assert _loads(server, "tiny.en") == 1
    deadline = time.monotonic() + 30
    while _states(server)["tiny.en"] == "loaded" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _states(server)["tiny.en"] == "unloaded" and _states(server)["base"] == "loaded"  # base is pinned
    scraped = httpx.get(f"{server.url}/metrics").text
    assert metric(scraped, "gateway_model_unloads_total", model="tiny.en", reason="idle") == 1
    assert metric(scraped, "gateway_model_loaded", model="tiny.en") == 0
    # and it comes back on the next request
    heard = sdk.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac")).text
    assert "weather" in heard.lower()
    assert _loads(server, "tiny.en") == 2  # loaded again for it


def test_a_draining_server_refuses_new_work_and_says_it_is_not_ready(start_server):
    server = start_server(transcription=LAZY)
    assert httpx.get(f"{server.url}/health/ready").status_code == 200
    server.services.drain.begin()
    response = httpx.get(f"{server.base_url}/models")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "server_shutting_down"
    assert response.headers["connection"] == "close" and response.headers["retry-after"] == "1"
    ready = httpx.get(f"{server.url}/health/ready")
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    assert httpx.get(f"{server.url}/health").status_code == 200  # alive, just not taking work
    assert metric(httpx.get(f"{server.url}/metrics").text, "gateway_draining") == 1
