"""Rate limits on the two-replica cluster: one bucket per key in the shared PostgreSQL, whoever serves.

A cluster of its own (`scripts/cluster`: nginx, PostgreSQL, two replicas): rate limits are per API
key, and keys need auth on, which the session's cluster runs without. Its replicas load no model
(the requests here are `GET /v1/models`), so it starts in seconds and stays small.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.system.conftest import Cluster

LIMITED_KEY = "sk-limited"
FREE_KEY = "sk-free"
BURST = 6


@pytest.fixture(scope="module")
def limited_cluster(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("limited-cluster")
    config = {
        "api_keys": [LIMITED_KEY, FREE_KEY],
        # The limited key: 6 at once, then one request per 2 minutes, for both replicas together.
        "limits": {"rate_limit": {"per_key": {LIMITED_KEY: 0.5}, "burst": BURST, "scope": "shared"}},
        "transcription": {"models": {"tiny.en": {"embedded": "whisper-tiny.en", "preload": False}}, "aliases": {}},
        "consents": {"transcription_model": "tiny.en"},
        "speech": {"preload": False},
    }
    path = root / "cluster.yaml"
    path.write_text(yaml.safe_dump(config))
    handle = Cluster(root / "run", path, data_dir / "cache")
    handle.start()
    yield handle
    handle.stop()


def _burst(cluster: Cluster, key: str, count: int) -> list[httpx.Response]:
    """`count` requests of `key` through the balancer, released at the same moment."""
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(count)
    with httpx.Client(base_url=cluster.url, headers={"authorization": f"Bearer {key}"}, timeout=60) as client:

        def call() -> None:
            barrier.wait()
            answers.append(client.get("/v1/models"))

        threads = [threading.Thread(target=call) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return answers


def test_a_keys_burst_across_both_replicas_gets_exactly_its_limit(limited_cluster: Cluster):
    """Buckets per replica would let up to 2 x burst through; the database's one bucket lets the burst."""
    count = 4 * BURST
    before = len(limited_cluster.balancer_log())
    answers = _burst(limited_cluster, LIMITED_KEY, count)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * BURST + [429] * (count - BURST), statuses
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert 60 < int(refused.headers["retry-after"]) <= 120  # a token every 2 minutes
    remaining = sorted(int(a.headers["x-ratelimit-remaining-requests"]) for a in answers if a.status_code == 200)
    assert remaining == list(range(BURST))  # every token spent once, by one replica or the other
    # Both replicas answered the key: the limit held across them, not within each.
    deadline = time.monotonic() + 30  # nginx writes a request's log line after its answer has gone out
    while True:
        served = [e for e in limited_cluster.balancer_log()[before:] if e["uri"] == "/v1/models"]
        if len(served) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(served) == count and len({e["upstream"] for e in served}) == 2
    # Another key has its own bucket (unlimited here); a later request of the limited key is still refused.
    assert {a.status_code for a in _burst(limited_cluster, FREE_KEY, 2 * BURST)} == {200}
    assert [a.status_code for a in _burst(limited_cluster, LIMITED_KEY, 2)] == [429, 429]
    for url in (limited_cluster.replica_url(0), limited_cluster.replica_url(1)):
        metrics = httpx.get(f"{url}/metrics").text
        assert "gateway_rate_limit_fallbacks_total 0.0" in metrics  # decided by the database every time
