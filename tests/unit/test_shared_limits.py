"""Rate limits shared by replicas through the database (SQLite and PostgreSQL), and database outages."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from gateway.limits import RateLimiter, SharedRateLimiter, build_rate_limiter
from gateway.settings import RateLimitSettings
from gateway.storage import Store, database_url, migrations
from gateway.tenants import tenant_of


class _Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return database_url(None, tmp_path)
    return database_url(request.getfixturevalue("postgres").new_database(), tmp_path)


HEAD = sorted(p.stem for p in (Path(migrations.__file__).parent / "versions").glob("0*.py"))[-1].split("_")[0]
"""The newest schema revision (the migrations' file names start with it)."""


def _replica(url: str, tmp_path: Path, settings: RateLimitSettings, wall: _Clock, **kwargs: Any) -> SharedRateLimiter:
    """What one replica builds: its own store and limiter on the shared database."""
    store = Store(url, data_dir=tmp_path, connect_timeout_s=kwargs.pop("connect_timeout_s", 10))
    limiter = build_rate_limiter(settings, store)
    assert isinstance(limiter, SharedRateLimiter)
    limiter.wall_clock = wall
    for name, value in kwargs.items():
        setattr(limiter, name, value)
    return limiter


async def test_replicas_at_once_spend_exactly_the_burst(url: str, tmp_path: Path):
    """Three replicas, 30 concurrent requests of one key: exactly `burst` pass; the next token after its time."""
    wall = _Clock(1_000_000.0)
    settings = RateLimitSettings(per_key={"busy": 6}, burst=10)  # a token every 10 s
    replicas = [_replica(url, tmp_path, settings, wall) for _ in range(3)]
    tenant = tenant_of("busy")
    decisions = await asyncio.gather(*(r.admit(tenant) for _ in range(10) for r in replicas))
    allowed = [d for d in decisions if d.allowed]
    assert len(allowed) == 10
    assert sorted(d.remaining for d in allowed) == list(range(10))  # each token spent once
    refused = [d for d in decisions if not d.allowed]
    assert all(d.limit == 10 and 0 < d.retry_after <= 10.001 for d in refused)
    wall.now += 10.5
    later = [await r.admit(tenant) for r in replicas]
    assert [d.allowed for d in later] == [True, False, False]
    assert all(r.fallbacks == 0 for r in replicas)
    assert await replicas[1].admit("key_0123456789abcdef") is None  # no rate for other keys: unlimited
    for replica in replicas:
        replica.close()
        replica.store.close()


async def test_shared_bucket_decides_like_the_local_one(url: str, tmp_path: Path):
    """The same requests at the same times get the same answers from the database as from memory."""
    wall = _Clock(2_000_000.0)
    settings = RateLimitSettings(requests_per_minute=60, burst=3)
    shared = _replica(url, tmp_path, settings, wall)
    local = RateLimiter(settings, clock=wall)
    for step in (0, 0, 0, 0, 0.5, 0.5, 0.25, 3, 0, 0, 0, 0):
        wall.now += step
        mine, theirs = await shared.admit("key_a"), await local.admit("key_a")
        assert mine.allowed == theirs.allowed and mine.remaining == theirs.remaining
        assert mine.retry_after == pytest.approx(theirs.retry_after) and mine.reset == pytest.approx(theirs.reset)
    # A replica whose clock is behind the row's neither refills the bucket nor breaks it.
    wall.now -= 30
    assert not (await shared.admit("key_a")).allowed
    shared.close()
    shared.store.close()


def test_replica_scope_and_no_limits_stay_in_memory(tmp_path: Path):
    store = Store(database_url(None, tmp_path), data_dir=tmp_path)
    assert type(build_rate_limiter(RateLimitSettings(requests_per_minute=5, scope="replica"), store)) is RateLimiter
    assert type(build_rate_limiter(RateLimitSettings(), store)) is RateLimiter  # nothing limited: no database
    store.close()


@pytest.fixture
def own_postgres():
    """A PostgreSQL cluster of this test alone, to be stopped and started (an outage)."""
    from samples.postgres import PostgresCluster, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        if os.environ.get("GATEWAY_TEST_REQUIRE_POSTGRES"):
            pytest.fail("PostgreSQL is not installed; run scripts/system-deps as root")
        pytest.skip("PostgreSQL is not installed (scripts/system-deps installs it)")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


async def test_database_outage_fails_open_to_per_replica_limits(own_postgres, tmp_path: Path):
    """Down at start, back, down again: limited per replica while down, shared again once it is back."""
    url = database_url(own_postgres.new_database(), tmp_path)
    own_postgres.pause()
    wall, mono = _Clock(3_000_000.0), _Clock(100.0)
    settings = RateLimitSettings(per_key={"k": 1}, burst=2)  # a token a minute
    limiter = _replica(url, tmp_path, settings, wall, clock=mono, connect_timeout_s=1)
    tries = []
    take = limiter._take
    limiter._take = lambda *a: tries.append(a) or take(*a)  # a spy: counts the database attempts
    tenant = tenant_of("k")

    # Down (and never migrated): this replica's own bucket decides, the database is tried once per retry_s.
    assert [(await limiter.admit(tenant)).allowed for _ in range(3)] == [True, True, False]
    assert limiter.database_down and limiter.fallbacks == 3 and len(tries) == 1
    mono.now += limiter.retry_s
    assert not (await limiter.admit(tenant)).allowed and len(tries) == 2

    # Back: the store migrates on the first take, the shared bucket (full) decides from now on.
    own_postgres.resume()
    mono.now += limiter.retry_s
    assert [(await limiter.admit(tenant)).allowed for _ in range(3)] == [True, True, False]
    assert not limiter.database_down and limiter.store.revision == HEAD and limiter.fallbacks == 4
    another = _replica(url, tmp_path, settings, wall)
    assert not (await another.admit(tenant)).allowed  # the bucket is one for both replicas

    # Down again mid-way: a pooled connection fails, the replica falls back at once.
    own_postgres.pause()
    decision = await limiter.admit(tenant)
    assert limiter.database_down and limiter.fallbacks == 5
    assert decision.allowed is False  # the local bucket remembers this replica's own takes
    for replica in (limiter, another):
        replica.close()
        replica.store.close()


async def test_a_bucket_stuck_behind_a_lock_fails_open_within_the_timeout(postgres, tmp_path: Path):
    """A statement that cannot get its row (held by a stuck transaction) is cancelled by the server."""
    import psycopg

    url = postgres.new_database()
    wall = _Clock(4_000_000.0)
    settings = RateLimitSettings(per_key={"k": 60}, burst=5)
    limiter = _replica(database_url(url, tmp_path), tmp_path, settings, wall, connect_timeout_s=1)
    tenant = tenant_of("k")
    assert (await limiter.admit(tenant)).allowed and not limiter.database_down
    with psycopg.connect(url) as stuck:  # a transaction that holds the key's row and never ends
        stuck.execute("SELECT * FROM rate_buckets WHERE tenant = %s FOR UPDATE", (tenant,))
        decision = await limiter.admit(tenant)
        assert decision.allowed and limiter.database_down and limiter.fallbacks == 1  # per replica meanwhile
    limiter.close()
    limiter.store.close()
