"""Per-key rate limits, and the time budget and client watch of every /v1 request.

`RateLimitMiddleware` gives each API key (tenant) a token bucket: `burst` requests at
once, refilled at `requests_per_minute`. An empty bucket is answered 429 with
`Retry-After` at once; every /v1 answer carries OpenAI's `x-ratelimit-*` headers.

`DeadlineMiddleware` runs a request inside a cancel scope that ends when its time budget
runs out or when its client goes away. Cancelling reaches the worker: `WorkQueue.run`
sets the work's cancel event and the worker stops at its next step. A request out of
time is answered 504 if nothing was sent yet; a stream that already started ends with an
error event (SSE) or is cut off (audio), so the client never takes it for complete.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import RateLimited, RequestTimeout, error_response
from gateway.middleware import DEFAULT_TENANT, tenant_of
from gateway.settings import RateLimitSettings
from gateway.streaming import sse_error

log = logging.getLogger(__name__)

_TENANT_ID = re.compile(r"^key_[0-9a-f]{16}$")


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int  # bucket size
    remaining: int
    retry_after: float  # seconds until the next token (0 when allowed)
    reset: float  # seconds until the bucket is full again
    per_minute: float  # refill rate


class RateLimiter:
    """Token buckets per tenant, kept in memory (one set per replica)."""

    def __init__(self, settings: RateLimitSettings, clock=time.monotonic):
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
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return Decision(True, size, int(bucket.tokens), 0.0, (size - bucket.tokens) / rate, rate * 60)
        wait = (1.0 - bucket.tokens) / rate
        return Decision(False, size, 0, wait, (size - bucket.tokens) / rate, rate * 60)


def _duration(seconds: float) -> str:
    """OpenAI's reset format: `1s`, `6m0s`, `250ms`."""
    if seconds < 1:
        return f"{max(1, int(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


class RateLimitMiddleware:
    """429 `rate_limit_error` when a key's bucket is empty; runs after ApiKeyMiddleware."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter):
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or not self.limiter.enabled:
            return await self.app(scope, receive, send)
        decision = self.limiter.take(scope.get("state", {}).get("tenant", DEFAULT_TENANT))
        if decision is None:
            return await self.app(scope, receive, send)
        headers = [
            (b"x-ratelimit-limit-requests", str(decision.limit).encode()),
            (b"x-ratelimit-remaining-requests", str(decision.remaining).encode()),
            (b"x-ratelimit-reset-requests", _duration(decision.reset).encode()),
        ]
        if not decision.allowed:
            exc = RateLimited(
                f"Rate limit reached for requests: {decision.per_minute:g} per minute (bursts of "
                f"{decision.limit}). Please try again in {_duration(decision.retry_after)}.",
                retry_after=decision.retry_after,
            )
            response = error_response(exc)
            response.raw_headers.extend(headers)
            return await response(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeadlineMiddleware:
    """Stop a /v1 request's work when it runs out of time or its client goes away."""

    def __init__(self, app: ASGIApp, timeout_s: float):
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        started = complete = body_done = False
        event_stream = False
        gone = asyncio.Event()
        listener: asyncio.Task | None = None

        with anyio.CancelScope() as work:
            if self.timeout_s:
                work.deadline = anyio.current_time() + self.timeout_s

            async def watch_client() -> None:
                # Owns `receive` once the body is read: the next message can only be a disconnect.
                while (await receive())["type"] != "http.disconnect":
                    pass
                gone.set()
                if not complete:
                    state["disconnected"] = True
                    work.cancel()

            async def guarded_receive() -> Message:
                nonlocal body_done, listener
                if body_done:
                    await gone.wait()
                    return {"type": "http.disconnect"}
                message = await receive()
                if message["type"] == "http.disconnect":
                    gone.set()
                elif not message.get("more_body", False):
                    body_done = True
                    listener = asyncio.create_task(watch_client())
                return message

            async def tracking_send(message: Message) -> None:
                nonlocal started, complete, event_stream
                if message["type"] == "http.response.start":
                    started = True
                    content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                    event_stream = content_type.startswith(b"text/event-stream")
                elif message["type"] == "http.response.body" and not message.get("more_body", False):
                    complete = True
                await send(message)

            try:
                await self.app(scope, guarded_receive, tracking_send)
            finally:
                if listener is not None:
                    listener.cancel()

        if not work.cancelled_caught or complete or state.get("disconnected"):
            return
        # Out of time.
        timeout = RequestTimeout(
            f"The request took longer than the server's limit of {self.timeout_s:g} seconds and was stopped.",
            code="request_timeout",
        )
        log.warning("request stopped after its time budget of %gs", self.timeout_s)
        if not started:
            return await error_response(timeout)(scope, receive, send)
        if event_stream:
            await send({"type": "http.response.body", "body": sse_error(timeout), "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        # Any other stream is left unfinished: the server closes the connection mid-body.
