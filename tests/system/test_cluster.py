"""Two replicas behind nginx: the balancer answers, loses nothing when a replica dies or drains."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import httpx
import numpy as np
import openai

from tests.helpers import encode, metric, read_audio
from tests.system.conftest import Cluster, pid_gone, wait_until

ENDPOINT = "/v1/audio/transcriptions"


def _sdk(cluster: Cluster, retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(base_url=cluster.base_url, api_key="sk-test", max_retries=retries, timeout=180)


def _transcribe_concurrently(sdk: openai.OpenAI, audio: Path, count: int) -> list[object]:
    outcomes: list[object] = [None] * count

    def call(i: int) -> None:
        try:
            outcomes[i] = sdk.audio.transcriptions.create(model="whisper-1", file=audio)
        except Exception as exc:  # kept and judged by the test
            outcomes[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    return outcomes, threads


def test_balancer_answers_and_uses_every_replica(healthy: Cluster, fixture_audio):
    sdk = _sdk(healthy)
    assert "whisper-1" in {m.id for m in sdk.models.list()}
    before = healthy.scrape()
    for _ in range(4):
        result = sdk.audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=fixture_audio("en_weather.flac")
        )
        assert "weather" in result.parse().text.lower()
        assert result.headers["x-request-id"].startswith("req_")
    after = healthy.scrape()
    served = [
        metric(a, "gateway_requests_total", endpoint=ENDPOINT, status="200")
        - metric(b, "gateway_requests_total", endpoint=ENDPOINT, status="200")
        for a, b in zip(after, before, strict=True)
    ]
    assert sum(served) == 4 and all(n >= 1 for n in served), served
    # the balancer's own probes and errors stay in OpenAI's shape
    assert httpx.get(f"{healthy.url}/metrics").json()["error"]["type"] == "not_found_error"


def test_sigkill_of_a_replica_mid_load_loses_no_request(healthy: Cluster, fixture_audio):
    sdk = _sdk(healthy)
    outcomes, threads = _transcribe_concurrently(sdk, fixture_audio("en_weather.flac"), 8)
    # Kill replica 1 while it is working on some of them.
    assert wait_until(lambda: metric(healthy.scrape()[0], "gateway_queue_running", model="tiny.en") > 0, 60, 0.02)
    pid = healthy.kill(0, signal.SIGKILL)
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a request hung"
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert not failures, failures  # nginx passed the killed replica's requests to the other one
    assert all("weather" in o.text.lower() for o in outcomes)
    # nginx's log shows the requests the dead replica had: passed on to the other one.
    passed_on = [e for e in healthy.balancer_log() if e["uri"] == ENDPOINT and "," in e["upstream"]]
    assert passed_on and all(e["status"] == 200 for e in passed_on)
    assert wait_until(lambda: pid_gone(pid), timeout=10)
    # The balancer keeps answering with one replica down.
    for _ in range(3):
        assert (
            "weather"
            in sdk.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_weather.flac")).text.lower()
        )
    healthy.start()  # and the replica comes back
    assert httpx.get(f"{healthy.replica_url(0)}/health/ready").status_code == 200


def test_sigterm_drains_a_replica_without_losing_its_requests(healthy: Cluster, fixture_audio):
    direct = openai.OpenAI(base_url=f"{healthy.replica_url(1)}/v1", api_key="sk-test", max_retries=0, timeout=180)
    outcomes: list[object] = []

    def in_flight() -> None:
        try:
            outcomes.append(direct.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_story.flac")))
        except Exception as exc:
            outcomes.append(exc)

    thread = threading.Thread(target=in_flight)
    thread.start()
    assert wait_until(
        lambda: metric(healthy.scrape()[1], "gateway_queue_running", model="tiny.en") >= 1, timeout=30, interval=0.05
    )
    pid = healthy.kill(1, signal.SIGTERM)
    # The draining replica takes no new connection; through the balancer everything is served.
    sdk = _sdk(healthy)
    for _ in range(3):
        assert (
            "weather"
            in sdk.audio.transcriptions.create(model="whisper-1", file=fixture_audio("en_weather.flac")).text.lower()
        )
    thread.join(timeout=180)
    assert len(outcomes) == 1 and not isinstance(outcomes[0], Exception), outcomes
    assert "spring" in outcomes[0].text.lower()  # the request in flight finished
    assert wait_until(lambda: pid_gone(pid), timeout=40), "the replica did not exit after draining"
    log = Path(healthy.replicas()[1]["log"]).read_text()
    assert "draining" in log and "Application shutdown complete" in log
    healthy.start()


def test_disconnecting_mid_stream_frees_the_worker(healthy: Cluster, fixture_audio):
    clip = read_audio(fixture_audio("en_fox.flac"))
    pause = np.zeros(8000, np.float32)
    long_audio = encode(np.concatenate([np.concatenate([clip, pause])] * 12), "flac")  # ~85 s, many segments
    cancelled = healthy.total("gateway_work_cancelled_total", model="tiny.en")
    with _sdk(healthy).audio.transcriptions.with_streaming_response.create(
        model="whisper-1", file=("long.flac", long_audio), stream=True
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # the first delta arrived: hang up
    assert wait_until(
        lambda: healthy.total("gateway_work_cancelled_total", model="tiny.en") == cancelled + 1, timeout=120
    )
    assert wait_until(lambda: healthy.total("gateway_queue_running", model="tiny.en") == 0, timeout=60)
    assert healthy.total("gateway_requests_total", endpoint=ENDPOINT, status="499") >= 1
