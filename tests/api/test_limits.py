"""Per-key rate limits, the audio-duration limit, request time budgets and clients that leave."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import encode, metric, read_audio


@pytest.fixture(scope="module")
def limited(start_server):
    """Key `limited` may make 2 requests per minute, `free` any; 2 s per request; 60 s of audio."""
    return start_server(
        api_keys=["limited", "free"],
        limits={"request_timeout_s": 2, "rate_limit": {"per_key": {"limited": 2}}},
        transcription={"max_audio_seconds": 60, "models": {"base": {"preload": False}, "tiny.en": {"preload": True}}},
    )


@pytest.fixture(scope="module")
def long_audio(fixture_audio) -> bytes:
    """About 55 s of speech: longer to decode than the 2 s budget, within the 60 s limit."""
    clip = read_audio(fixture_audio("en_fox.flac"))
    pause = np.zeros(8000, np.float32)
    return encode(np.concatenate([np.concatenate([clip, pause])] * 8), "flac")


def _sdk(server, key):
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=120)


def test_rate_limit_per_key_answers_429_with_retry_after(limited):
    sdk = _sdk(limited, "limited")
    first = sdk.models.with_raw_response.list()
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    sdk.models.list()
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.models.list()
    error = caught.value
    body = error.response.json()["error"]
    assert body["type"] == "rate_limit_error" and body["code"] == "rate_limit_exceeded"
    assert 20 <= int(error.response.headers["retry-after"]) <= 30  # 2 per minute: a token every 30 s
    assert 20_000 <= int(error.response.headers["retry-after-ms"]) <= 30_000
    assert error.response.headers["x-request-id"]
    # Another key has its own budget; probes are never limited.
    assert [m.id for m in _sdk(limited, "free").models.list()]
    assert httpx.get(f"{limited.url}/health").status_code == 200


def test_audio_longer_than_the_limit_is_400_naming_file(limited):
    seventy_seconds = encode(np.zeros(70 * 16000, np.float32), "flac")
    with pytest.raises(openai.BadRequestError) as caught:
        _sdk(limited, "free").audio.transcriptions.create(model="tiny.en", file=("long.flac", seventy_seconds))
    body = caught.value.response.json()["error"]
    assert body["param"] == "file" and body["code"] == "audio_too_long"
    assert "60 seconds" in body["message"]
    assert limited.services.registry.entries["tiny.en"].queue.admitted == 0


def _wait_idle(queue, seconds=90):
    deadline = time.monotonic() + seconds
    while (queue.admitted or queue.running) and time.monotonic() < deadline:
        time.sleep(0.1)
    return queue.admitted == 0 and queue.running == 0


def test_request_over_its_time_budget_is_504_and_its_work_stops(limited, long_audio):
    queue = limited.services.registry.entries["tiny.en"].queue
    cancelled = queue.cancelled
    started = time.monotonic()
    with pytest.raises(openai.InternalServerError) as caught:
        _sdk(limited, "free").audio.transcriptions.create(model="tiny.en", file=("long.flac", long_audio))
    assert time.monotonic() - started < 30
    error = caught.value
    assert error.status_code == 504
    assert error.response.json()["error"]["code"] == "request_timeout"
    assert error.response.headers["x-should-retry"] == "false"
    assert _wait_idle(queue), "the timed-out transcription kept its worker"
    assert queue.cancelled == cancelled + 1


def test_stream_over_its_time_budget_ends_with_an_error_event(limited, long_audio):
    queue = limited.services.registry.entries["tiny.en"].queue
    response = httpx.post(
        f"{limited.base_url}/audio/transcriptions",
        headers={"authorization": "Bearer free"},
        files={"file": ("long.flac", long_audio)},
        data={"model": "tiny.en", "stream": "true"},
        timeout=120,
    )
    assert response.status_code == 200
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events and "error" in events[-1], events
    assert events[-1]["error"]["code"] == "request_timeout"
    assert not any(e.get("type") == "transcript.text.done" for e in events)
    assert _wait_idle(queue)


def test_client_leaving_a_plain_request_stops_its_work(limited, long_audio):
    queue = limited.services.registry.entries["tiny.en"].queue
    worker = limited.services.registry.entries["tiny.en"].worker
    before = worker.cancelled
    gone = {"endpoint": "/v1/audio/transcriptions", "status": "499"}
    left_before = metric(httpx.get(f"{limited.url}/metrics").text, "gateway_requests_total", **gone)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{limited.base_url}/audio/transcriptions",
            headers={"authorization": "Bearer free"},
            files={"file": ("long.flac", long_audio)},
            data={"model": "tiny.en"},
            timeout=httpx.Timeout(120, read=0.8),  # gives up before the 2 s budget
        )
    assert _wait_idle(queue), "the worker kept decoding for a client that left"
    assert worker.cancelled == before + 1
    # Counted as the client's doing (499), not as a timeout (504).
    assert metric(httpx.get(f"{limited.url}/metrics").text, "gateway_requests_total", **gone) == left_before + 1


def test_shared_limits_fail_open_to_this_replica_when_the_database_is_down(start_server):
    """PostgreSQL unreachable from the start: the key is still limited (by this replica), work is served."""
    from tests.conftest import free_port

    server = start_server(
        api_keys=["offline"],
        storage={"url": f"postgresql://nobody@127.0.0.1:{free_port()}/none", "connect_timeout_s": 1},
        limits={"rate_limit": {"per_key": {"offline": 2}, "scope": "shared"}},
        transcription={"models": {"base": {"preload": False}, "tiny.en": {"preload": False}}},
        speech={"preload": False},
    )
    sdk = _sdk(server, "offline")
    assert sdk.models.with_raw_response.list().headers["x-ratelimit-remaining-requests"] == "1"
    sdk.models.list()
    with pytest.raises(openai.RateLimitError):
        sdk.models.list()
    assert server.services.rate_limiter.database_down
    assert metric(httpx.get(f"{server.url}/metrics").text, "gateway_rate_limit_fallbacks_total") == 3
    ready = httpx.get(f"{server.url}/health/ready").json()  # the outage is visible where operators look
    assert ready["status"] == "degraded" and ready["storage"]["error"]
