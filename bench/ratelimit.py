"""What a shared rate limit costs per request: buckets in memory vs in SQLite vs in PostgreSQL.

Two measurements, the variants side by side in the same run, taking turns round by round:
- *decision*: one `await limiter.admit(key)` as the middleware makes it (thread hop and database
  round trip included), one request at a time, and 16 at once on one key (one row, contended);
- *request*: `GET /v1/models` through the whole app in-process (httpx's ASGI transport, no network),
  with rate limits off, per replica, and shared on each database.
PostgreSQL is a throwaway local cluster (samples/postgres.py: loopback, fsync off), so its figures
are the client's and server's work without a network hop; add your network's round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report import table, write_section

if TYPE_CHECKING:
    from fastapi import FastAPI

    from gateway.settings import Settings

KEY = "bench-key"
VARIANTS = ["off", "replica", "shared, SQLite", "shared, PostgreSQL"]


def _settings(variant: str, data_dir: Path, postgres_url: str | None) -> Settings:
    from gateway.settings import Settings

    limits = {} if variant == "off" else {"per_key": {KEY: 1e9}, "burst": 10**9}
    overrides: dict[str, Any] = {
        "data_dir": str(data_dir),
        "api_keys": [KEY],  # limits are per key: with auth off every caller is one tenant
        "log_level": "warning",
        "limits": {"rate_limit": {**limits, "scope": "replica" if variant == "replica" else "shared"}},
        "transcription": {"models": {"tiny.en": {"embedded": "whisper-tiny.en", "preload": False}}, "aliases": {}},
        "consents": {"transcription_model": "tiny.en"},
        "diarization": {"enabled": False},
        "speech": {"preload": False},
    }
    if variant.endswith("PostgreSQL"):
        overrides["storage"] = {"url": postgres_url}
    return Settings.load(None, **overrides)


async def _measure(
    apps: dict[str, FastAPI], rounds: int, per_round: int
) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, list[float]]]:
    import httpx

    from gateway.tenants import tenant_of

    decision: dict[str, list[float]] = {v: [] for v in apps}
    request: dict[str, list[float]] = {v: [] for v in apps}
    burst: dict[str, list[float]] = {v: [] for v in apps}
    clients = {
        v: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", headers={"authorization": f"Bearer {KEY}"}
        )
        for v, app in apps.items()
    }
    tenant = tenant_of(KEY)
    for v, app in apps.items():  # warm up: the store migrates, buckets exist, pools hold connections
        for _ in range(20):
            assert (await clients[v].get("/v1/models")).status_code == 200
            await app.state.services.rate_limiter.admit(tenant)
    for _ in range(rounds):
        for v, app in apps.items():
            limiter = app.state.services.rate_limiter
            for _ in range(per_round):
                start = time.perf_counter()
                await limiter.admit(tenant)
                decision[v].append(time.perf_counter() - start)
            for _ in range(per_round):
                start = time.perf_counter()
                response = await clients[v].get("/v1/models")
                request[v].append(time.perf_counter() - start)
                assert response.status_code == 200
            start = time.perf_counter()
            await asyncio.gather(*(limiter.admit(tenant) for _ in range(16)))
            burst[v].append((time.perf_counter() - start) / 16)
    for client in clients.values():
        await client.aclose()
    return decision, request, burst


def run(rounds: int, per_round: int) -> str:
    from gateway.app import create_app
    from samples.postgres import PostgresCluster, postgres_bin_dir

    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed (scripts/system-deps)")
    postgres = PostgresCluster(bin_dir).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-ratelimit-") as tmp:
            apps = {}
            for variant in VARIANTS:
                data_dir = Path(tmp) / variant.replace(", ", "-")
                apps[variant] = create_app(_settings(variant, data_dir, postgres.new_database()))
            decision, request, burst = asyncio.run(_measure(apps, rounds, per_round))
            for app in apps.values():
                app.state.services.rate_limiter.close()
                app.state.services.store.close()
    finally:
        postgres.stop()

    def ms(values: list[float], q: float | None = None) -> str:
        value = statistics.median(values) if q is None else statistics.quantiles(values, n=100)[int(q) - 1]
        return f"{value * 1000:.2f}"

    base = statistics.median(request["off"])
    rows = []
    for v in VARIANTS:
        extra = statistics.median(request[v]) - base
        rows.append(
            [
                v,
                ms(decision[v]) if v != "off" else "-",
                ms(decision[v], 95) if v != "off" else "-",
                f"{1 / statistics.median(burst[v]):.0f}" if v != "off" else "-",
                ms(request[v]),
                ms(request[v], 95),
                f"{extra * 1000:+.2f}",
            ]
        )
    headers = [
        "rate limit",
        "decision p50 ms",
        "decision p95 ms",
        "16 at once on one key, decisions/s",
        "GET /v1/models p50 ms",
        "p95 ms",
        "vs off, ms",
    ]
    samples = rounds * per_round
    return (
        "## Rate limits: per replica vs shared through the database\n\n"
        f"What one request pays for its rate-limit decision. *Decision*: `await limiter.admit(key)` as the "
        f"middleware calls it (thread hop and database round trip included), {samples} one at a time per "
        f"variant, and the rate of 16 concurrent decisions on one key (one row, serialised by the database). "
        f"*GET /v1/models*: the whole app in-process (httpx's ASGI transport, no network), {samples} requests "
        f"per variant. The variants take turns in {rounds} rounds of {per_round}. PostgreSQL is a local "
        f"cluster on loopback with fsync off: add your network's round trip to its figures. SQLite runs in WAL "
        f"mode with `synchronous=NORMAL` for the buckets (no fsync per request). Load average of the "
        f"machine when measuring: {os.getloadavg()[0]:.1f} (it is shared; the p95 columns show it).\n\n"
        + table(headers, rows)
        + "\n\nA decision costs more inside a request than alone: back to back, requests wait for the worker "
        "thread's result while the event loop is still busy with the previous request (a request made right "
        "after a lone decision costs about the decision alone). Keys without a limit skip all of this."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    section = run(args.rounds, args.per_round)
    print(section)
    if not args.no_write:
        write_section("ratelimit", section)


if __name__ == "__main__":
    main()
