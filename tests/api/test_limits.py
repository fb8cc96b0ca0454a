"""Per-key rate limits, the audio-duration limit, request time budgets and clients that leave."""

from __future__ import annotations

import json
import socket
import time

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import encode, metric, read_audio
from tests.holds import hold_transcription


@pytest.fixture(scope="module")
def limited(start_server):
    """Key `limited` may make 2 requests per minute, `free` any; 4 s per request; 60 s of audio.

    The budget tests hold the worker as it starts (tests/holds.py): the budget only has to
    cover reading and decoding the upload, and runs out while the work is in flight.
    """
    return start_server(
        api_keys=["limited", "free"],
        limits={"request_timeout_s": 4, "rate_limit": {"per_key": {"limited": 2}}},
        transcription={"max_audio_seconds": 60, "models": {"base": {"preload": False}, "tiny.en": {"preload": True}}},
    )


@pytest.fixture(scope="module")
def two_sentences(fixture_audio) -> bytes:
    """About 13 s of speech: two sentences, a second apart."""
    clip = read_audio(fixture_audio("en_fox.flac"))
    return encode(np.concatenate([clip, np.zeros(16000, np.float32), clip]), "flac")


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


def test_request_over_its_time_budget_is_504_and_its_work_stops(limited, two_sentences, monkeypatch):
    entry = limited.services.registry.entries["tiny.en"]
    cancelled, stopped = entry.queue.cancelled, entry.worker.cancelled
    hold = hold_transcription(monkeypatch, entry.worker)  # held until the budget cancels it
    with pytest.raises(openai.InternalServerError) as caught:
        _sdk(limited, "free").audio.transcriptions.create(model="tiny.en", file=("long.flac", two_sentences))
    error = caught.value
    assert error.status_code == 504
    assert error.response.json()["error"]["code"] == "request_timeout"
    assert error.response.headers["x-should-retry"] == "false"
    assert _wait_idle(entry.queue), "the timed-out transcription kept its worker"
    assert hold.cancelled, "the request's cancel event was never set"
    assert entry.queue.cancelled == cancelled + 1
    assert entry.worker.cancelled == stopped + 1  # Whisper itself saw the cancel and stopped


def test_stream_over_its_time_budget_ends_with_an_error_event(limited, two_sentences, monkeypatch):
    entry = limited.services.registry.entries["tiny.en"]
    stopped = entry.worker.cancelled
    hold = hold_transcription(monkeypatch, entry.worker)
    response = httpx.post(
        f"{limited.base_url}/audio/transcriptions",
        headers={"authorization": "Bearer free"},
        files={"file": ("long.flac", two_sentences)},
        data={"model": "tiny.en", "stream": "true"},
        timeout=120,
    )
    assert response.status_code == 200
    events = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert events and "error" in events[-1], events
    assert events[-1]["error"]["code"] == "request_timeout"
    assert not any(e.get("type") == "transcript.text.done" for e in events)
    assert _wait_idle(entry.queue)
    assert hold.cancelled and entry.worker.cancelled == stopped + 1


def test_client_leaving_a_plain_request_stops_its_work(server, two_sentences, monkeypatch):
    """On a server without a short budget: the client, not the clock, ends the request."""
    entry = server.services.registry.entries["tiny.en"]
    before = entry.worker.cancelled
    gone = {"endpoint": "/v1/audio/transcriptions", "status": "499"}
    left_before = metric(httpx.get(f"{server.url}/metrics").text, "gateway_requests_total", **gone)
    hold = hold_transcription(monkeypatch, entry.worker)
    with socket.create_connection(("127.0.0.1", server.port)) as connection:
        connection.sendall(_multipart_request("/v1/audio/transcriptions", {"model": "tiny.en"}, two_sentences))
        hold.wait_reached()  # the worker is decoding this request: hang up
    assert _wait_idle(entry.queue), "the worker kept decoding for a client that left"
    assert hold.cancelled, "the client's leaving did not set the request's cancel event"
    assert entry.worker.cancelled == before + 1
    # Counted as the client's doing (499), not as a timeout (504).
    deadline = time.monotonic() + 30
    while metric(httpx.get(f"{server.url}/metrics").text, "gateway_requests_total", **gone) == left_before:
        assert time.monotonic() < deadline, "the request that lost its client was never counted as 499"
        time.sleep(0.05)
    assert metric(httpx.get(f"{server.url}/metrics").text, "gateway_requests_total", **gone) == left_before + 1


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


def _multipart_request(path: str, fields: dict[str, str], audio: bytes) -> bytes:
    """A whole HTTP/1.1 multipart POST, as bytes to send on a raw socket."""
    boundary = "holdboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.flac"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode() + audio + b"\r\n"
    )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body
