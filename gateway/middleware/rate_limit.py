"""Per-key rate limits on /v1: 429 with `Retry-After` when a key's bucket is empty (gateway/limits.py),
and OpenAI's `x-ratelimit-*` headers on every answer."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import RateLimited, error_response
from gateway.limits import RateLimiter, _duration
from gateway.middleware.scope import is_api
from gateway.tenants import DEFAULT_TENANT


class RateLimitMiddleware:
    """429 `rate_limit_error` when a key's bucket is empty; runs after ApiKeyMiddleware."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope) or not self.limiter.enabled:
            return await self.app(scope, receive, send)
        decision = await self.limiter.admit(scope.get("state", {}).get("tenant", DEFAULT_TENANT))
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
