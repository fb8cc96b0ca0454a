"""Per-key rate limits (token buckets); `gateway/middleware/rate_limit.py` applies them.

`RateLimitMiddleware` gives each API key (tenant) a token bucket: `burst` requests at
once, refilled at `requests_per_minute`. An empty bucket is answered 429 with
`Retry-After` at once; every /v1 answer carries OpenAI's `x-ratelimit-*` headers. The
buckets live in the database the replicas share (`SharedRateLimiter`, one atomic UPDATE per
request) or in each replica's memory (`RateLimiter`, `limits.rate_limit.scope: replica`).

While the database cannot be reached, the shared limiter fails open to this replica's own
buckets: a key keeps a limit (its rate on each replica, as with `scope: replica`) and every
request that needs no database (transcription, translation, speech) keeps being served. A
limit that failed closed would turn a database outage into an outage of the whole API; one
that let everything through would lose the limit exactly when a replica is struggling.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from gateway.errors import ServiceUnavailable
from gateway.settings import RateLimitSettings
from gateway.storage import Store
from gateway.storage.buckets import SharedBuckets, Take
from gateway.tenants import tenant_of
from gateway.threads import LazyLimiter

log = logging.getLogger(__name__)

_TENANT_ID = re.compile(r"^key_[0-9a-f]{16}$")


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    """What a rate limiter decided for one request, with the figures of the `x-ratelimit-*` headers."""

    allowed: bool
    limit: int  # bucket size
    remaining: int
    retry_after: float  # seconds until the next token (0 when allowed)
    reset: float  # seconds until the bucket is full again
    per_minute: float  # refill rate


class RateLimiter:
    """Token buckets per tenant, kept in memory (one set per replica)."""

    def __init__(self, settings: RateLimitSettings, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.clock = clock
        self.per_tenant = {
            (key if _TENANT_ID.match(key) else tenant_of(key)): rpm for key, rpm in settings.per_key.items()
        }
        self._buckets: dict[str, _Bucket] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.settings.requests_per_minute or self.per_tenant)

    def _rate(self, tenant: str) -> tuple[float, int]:
        """(tokens per second, bucket size) for a tenant; rate 0 means unlimited."""
        rpm = self.per_tenant.get(tenant, self.settings.requests_per_minute)
        size = self.settings.burst or max(1, math.ceil(rpm))
        return rpm / 60.0, size

    async def admit(self, tenant: str) -> Decision | None:
        """What the middleware calls: spend a token of `tenant`'s bucket (None: no limit)."""
        return self.take(tenant)

    def close(self) -> None:
        """Release what the limiter holds (nothing here)."""

    def take(self, tenant: str) -> Decision | None:
        """Spend a token of `tenant`'s bucket; None when the tenant has no limit."""
        rate, size = self._rate(tenant)
        if rate <= 0:
            return None
        now = self.clock()
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = _Bucket(tokens=float(size), updated=now)
        bucket.tokens = min(float(size), bucket.tokens + (now - bucket.updated) * rate)
        bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        return _decision(allowed, bucket.tokens, rate, size)


def _decision(allowed: bool, tokens: float, rate: float, size: int) -> Decision:
    """The answer for a bucket holding `tokens` after the take (rate in tokens per second)."""
    reset = (size - tokens) / rate
    if allowed:
        return Decision(True, size, int(tokens), 0.0, reset, rate * 60)
    return Decision(False, size, 0, (1.0 - tokens) / rate, reset, rate * 60)


class SharedRateLimiter(RateLimiter):
    """One bucket per tenant for every replica, in the shared database; this replica's own while it is down.

    After a failed take the database is left alone for `retry_s` (requests are limited locally
    meanwhile), so an outage costs one slow request per `retry_s`, not one per request. The
    local buckets start full: during an outage a key may use its rate on each replica.
    """

    def __init__(
        self,
        settings: RateLimitSettings,
        store: Store,
        *,
        parallel: int = 5,
        retry_s: float = 5.0,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ):
        super().__init__(settings, clock=clock)
        self.store = store
        self.buckets = SharedBuckets(store.url, pool_size=parallel, connect_timeout_s=store.connect_timeout_s)
        self.retry_s = retry_s
        self.wall_clock = wall_clock
        self.fallbacks = 0  # decisions taken locally because the database failed
        self._threads = LazyLimiter(parallel)
        self._retry_at: float | None = None  # set while the database is considered down

    @property
    def database_down(self) -> bool:
        return self._retry_at is not None

    async def admit(self, tenant: str) -> Decision | None:
        """A token from the tenant's shared bucket (None: no limit); from this replica's buckets while the
        database is down."""
        rate, size = self._rate(tenant)
        if rate <= 0:
            return None
        if self._retry_at is None or self.clock() >= self._retry_at:
            try:
                take = await self._threads.run(self._take, tenant, rate, size)
            except (SQLAlchemyError, ServiceUnavailable) as exc:
                if self._retry_at is None:
                    log.error("rate limits: the database failed (%s); limiting per replica until it is back", exc)
                self._retry_at = self.clock() + self.retry_s
            else:
                if self._retry_at is not None:
                    log.warning("rate limits: the database is back; limits are shared again")
                    self._retry_at = None
                return _decision(take.allowed, take.tokens, rate, size)
        self.fallbacks += 1
        return self.take(tenant)

    def _take(self, tenant: str, rate: float, size: int) -> Take:
        if self.store.revision is None:  # the database was down at start: migrate (creates the table) first
            self.store.open()
        return self.buckets.take(tenant, rate=rate, size=size, now=self.wall_clock())

    def close(self) -> None:
        self.buckets.close()


def build_rate_limiter(settings: RateLimitSettings, store: Store) -> RateLimiter:
    """The limiter `settings.scope` asks for; the shared one keeps its buckets in the voice store's database."""
    if settings.scope == "replica" or not (settings.requests_per_minute or settings.per_key):
        return RateLimiter(settings)
    return SharedRateLimiter(settings, store, parallel=store.pool_size)


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `250ms`."""
    if seconds < 1:
        return f"{max(1, int(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"
