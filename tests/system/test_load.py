"""Load: a bounded burst is served or answered 429 (never 500, never a hang), memory stays bounded,
and /metrics counts what happened."""

from __future__ import annotations

import threading
import time

import httpx

from models.memory import MIB, rss_bytes
from tests.system.conftest import Cluster

ENDPOINT = "/v1/audio/transcriptions"
SPEECH = "/v1/audio/speech"
BURST = 32  # transcriptions: both replicas admit 2 x (2 working + 6 waiting) = 16 at once
SPEECH_BURST = 20  # speech: 2 x (2 + 4) = 12 at once
PEAK_RSS_LIMIT = 1024 * MIB  # per replica serving tiny.en and Piper (about 560 MiB measured)
TEXT = "The quick brown fox jumps over the lazy dog. Then it runs into the forest and is gone."


def test_a_burst_is_served_or_answered_429_and_counted(healthy: Cluster, fixture_audio):
    audio = fixture_audio("en_weather.flac").read_bytes()
    pids = [r["pid"] for r in healthy.replicas()]
    before = {
        "ok": healthy.total("gateway_requests_total", endpoint=ENDPOINT, status="200"),
        "limited": healthy.total("gateway_requests_total", endpoint=ENDPOINT, status="429"),
        "rejected": healthy.total("gateway_queue_rejected_total", model="tiny.en"),
        "audio": healthy.total("gateway_audio_seconds_total", endpoint=ENDPOINT, model="tiny.en"),
        "speech_ok": healthy.total("gateway_requests_total", endpoint=SPEECH, status="200"),
        "speech_limited": healthy.total("gateway_requests_total", endpoint=SPEECH, status="429"),
        "speech_audio": healthy.total("gateway_audio_seconds_total", endpoint=SPEECH, model="piper"),
    }
    peaks = [rss_bytes(pid) for pid in pids]
    sampling = True

    def sample() -> None:
        while sampling:
            for i, pid in enumerate(pids):
                peaks[i] = max(peaks[i], rss_bytes(pid))
            time.sleep(0.05)

    total = BURST + SPEECH_BURST
    responses: list[httpx.Response | BaseException | None] = [None] * total
    gate = threading.Barrier(total)

    def call(i: int) -> None:
        gate.wait()  # all at once
        try:
            if i < BURST:
                responses[i] = httpx.post(
                    f"{healthy.base_url}/audio/transcriptions",
                    files={"file": ("a.flac", audio)},
                    data={"model": "whisper-1"},
                    timeout=180,
                )
            else:
                responses[i] = httpx.post(
                    f"{healthy.base_url}/audio/speech",
                    json={"model": "tts-1", "input": TEXT, "voice": "alloy", "response_format": "wav"},
                    timeout=180,
                )
        except BaseException as exc:  # judged below
            responses[i] = exc

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    threads = [threading.Thread(target=call, args=(i,)) for i in range(total)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - started
    sampling = False
    sampler.join()

    assert not any(t.is_alive() for t in threads), "a request hung"
    errors = [r for r in responses if not isinstance(r, httpx.Response)]
    assert not errors, errors
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, statuses
    transcribed, spoken = responses[:BURST], responses[BURST:]
    ok = [r for r in transcribed if r.status_code == 200]
    limited = [r for r in transcribed if r.status_code == 429]
    assert len(ok) >= 16 and limited, statuses
    assert all("weather" in r.json()["text"].lower() for r in ok)
    speech_ok = [r for r in spoken if r.status_code == 200]
    speech_limited = [r for r in spoken if r.status_code == 429]
    assert len(speech_ok) >= 12 and speech_limited, statuses
    assert all(r.content[:4] == b"RIFF" and len(r.content) > 24_000 for r in speech_ok)
    for r in limited + speech_limited:
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert int(r.headers["retry-after"]) >= 1 and r.headers["x-request-id"]

    # /metrics counts exactly what the clients saw (nginx passed none of these on twice)
    assert healthy.total("gateway_requests_total", endpoint=ENDPOINT, status="200") - before["ok"] == len(ok)
    assert healthy.total("gateway_requests_total", endpoint=ENDPOINT, status="429") - before["limited"] == len(limited)
    assert healthy.total("gateway_queue_rejected_total", model="tiny.en") - before["rejected"] == len(limited)
    audio_seconds = healthy.total("gateway_audio_seconds_total", endpoint=ENDPOINT, model="tiny.en") - before["audio"]
    assert abs(audio_seconds - 4.9 * len(ok)) < 0.1 * len(ok)
    assert healthy.total("gateway_requests_total", endpoint=SPEECH, status="200") - before["speech_ok"] == len(
        speech_ok
    )
    limited_speech = healthy.total("gateway_requests_total", endpoint=SPEECH, status="429") - before["speech_limited"]
    assert limited_speech == len(speech_limited)
    assert healthy.total("gateway_audio_seconds_total", endpoint=SPEECH, model="piper") - before[
        "speech_audio"
    ] > 3 * len(speech_ok)
    for model in ("tiny.en", "piper"):
        assert healthy.total("gateway_queue_running", model=model) == 0
        assert healthy.total("gateway_queue_waiting", model=model) == 0

    print(
        f"\nburst of {BURST} transcriptions: {len(ok)} served, {len(limited)} x 429; {SPEECH_BURST} speech: "
        f"{len(speech_ok)} served, {len(speech_limited)} x 429; in {elapsed:.1f}s; "
        f"peak RSS per replica {[round(p / MIB) for p in peaks]} MiB"
    )
    assert max(peaks) < PEAK_RSS_LIMIT, [p / MIB for p in peaks]
