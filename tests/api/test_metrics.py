"""/metrics counts what happened; every request leaves one access line with its request id."""

from __future__ import annotations

import logging
import time

import httpx

from tests.helpers import metric

ENDPOINT = "/v1/audio/transcriptions"


def _scrape(server) -> str:
    response = httpx.get(f"{server.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_requests_latency_and_audio_seconds_are_counted(client, server, fixture_audio):
    labels = {"endpoint": ENDPOINT, "model": "tiny.en"}
    before = _scrape(server)
    for _ in range(2):
        client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    after = _scrape(server)
    ok = metric(after, "gateway_requests_total", status="200", **labels) - metric(
        before, "gateway_requests_total", status="200", **labels
    )
    assert ok == 2
    timed = metric(after, "gateway_request_duration_seconds_count", **labels) - metric(
        before, "gateway_request_duration_seconds_count", **labels
    )
    assert timed == 2
    seconds = metric(after, "gateway_audio_seconds_total", **labels) - metric(
        before, "gateway_audio_seconds_total", **labels
    )
    assert abs(seconds - 2 * 4.9) < 0.2  # en_weather.flac lasts 4.9 s
    # model state, queues and batching
    assert metric(after, "gateway_model_loaded", model="tiny.en") == 1
    assert metric(after, "gateway_model_state", model="tiny.en", state="loaded") == 1
    assert metric(after, "gateway_queue_capacity", model="tiny.en") == 20
    assert metric(after, "gateway_queue_running", model="tiny.en") == 0
    assert metric(after, "gateway_batch_size_count", model="tiny.en") >= 2
    assert metric(after, "gateway_model_memory_bytes", model="tiny.en") > 50e6
    assert metric(after, "process_resident_memory_bytes") > 100e6
    assert metric(after, "gateway_ready") == 1 and metric(after, "gateway_draining") == 0


def test_waiting_times_are_kept_per_latency_class(client, server, fixture_audio):
    def counts(text: str) -> dict[str, float]:
        return {
            "speech queue": metric(text, "gateway_queue_wait_seconds_count", model="piper", latency="interactive"),
            "file queue": metric(text, "gateway_queue_wait_seconds_count", model="tiny.en", latency="bulk"),
            "interactive steps": metric(text, "gateway_compute_wait_seconds_count", latency="interactive"),
            "bulk steps": metric(text, "gateway_compute_wait_seconds_count", latency="bulk"),
        }

    before = counts(_scrape(server))
    client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    client.audio.speech.create(model="tts-1", voice="alloy", input="Two short sentences. Then the end.").read()
    after = counts(_scrape(server))
    assert after["speech queue"] - before["speech queue"] == 1
    assert after["file queue"] - before["file queue"] == 1
    assert after["interactive steps"] - before["interactive steps"] >= 2  # one per piece of the text
    assert after["bulk steps"] - before["bulk steps"] >= 1  # Whisper calls (a wide encode never waits: not counted)


def test_errors_are_counted_by_status_and_unknown_paths_stay_unlabelled(client, server):
    before = _scrape(server)
    httpx.get(f"{server.base_url}/no/such/path/{'x' * 20}")
    httpx.post(f"{server.base_url}/audio/transcriptions", files={"file": ("a.wav", b"junk")}, data={"model": "nope"})
    after = _scrape(server)
    assert (
        metric(after, "gateway_requests_total", endpoint="unmatched", status="404")
        - metric(before, "gateway_requests_total", endpoint="unmatched", status="404")
        == 1
    )
    assert (
        metric(after, "gateway_requests_total", endpoint=ENDPOINT, model="none", status="404")
        - metric(before, "gateway_requests_total", endpoint=ENDPOINT, model="none", status="404")
        == 1
    )
    assert "xxxxxxxx" not in after


def test_one_access_line_per_request_with_its_request_id(client, server, fixture_audio, caplog):
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        raw = client.audio.transcriptions.with_raw_response.create(
            model="tiny.en", file=fixture_audio("en_weather.flac")
        )
        request_id = raw.headers["x-request-id"]

        def lines():  # written once the last byte is sent, which the client may see first
            return [
                r for r in caplog.records if r.name == "gateway.access" and getattr(r, "request_id", None) == request_id
            ]

        deadline = time.monotonic() + 10
        while not lines() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
    lines = lines()
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status, line.model, line.tenant) == (
        "POST",
        ENDPOINT,
        200,
        "tiny.en",
        "default",
    )
    assert line.duration_ms > 0 and abs(line.audio_seconds - 4.9) < 0.1
