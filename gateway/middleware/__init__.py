"""ASGI middleware, one module per middleware, applied in request order (`stack`).

A request passes them from the outermost to the innermost, then reaches the routes:
request id -> telemetry -> server errors -> drain -> body limit -> API key -> rate limit -> forms -> deadline.
Those that concern only the API check `is_api(scope)` (paths under /v1/).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.middleware import Middleware

from gateway.middleware.api_key import EPHEMERAL_PREFIX, ApiKeyMiddleware, deny_websocket
from gateway.middleware.body_limit import BODY_SLACK_BYTES, BodyLimitMiddleware
from gateway.middleware.deadline import DeadlineMiddleware
from gateway.middleware.drain import DrainMiddleware
from gateway.middleware.forms import FormsMiddleware
from gateway.middleware.rate_limit import RateLimitMiddleware
from gateway.middleware.request_id import RequestIdMiddleware
from gateway.middleware.scope import is_api
from gateway.middleware.server_errors import ServerErrorMiddleware
from gateway.middleware.telemetry import TelemetryMiddleware
from gateway.tenants import request_tenant, tenant_of

if TYPE_CHECKING:
    from gateway.services import Services

__all__ = ["BODY_SLACK_BYTES", "EPHEMERAL_PREFIX", "deny_websocket", "is_api", "request_tenant", "stack", "tenant_of"]


def stack(services: Services) -> list[Middleware]:
    """The middleware in request order, outermost first (as `FastAPI(middleware=...)` takes them)."""
    settings = services.settings
    return [
        Middleware(RequestIdMiddleware),
        Middleware(TelemetryMiddleware, metrics=services.metrics if settings.metrics else None),
        Middleware(ServerErrorMiddleware),
        Middleware(DrainMiddleware, drain=services.drain),
        Middleware(BodyLimitMiddleware, limit=settings.transcription.max_upload_bytes + BODY_SLACK_BYTES),
        Middleware(ApiKeyMiddleware, api_keys=settings.api_keys, client_secrets=services.client_secret),
        Middleware(RateLimitMiddleware, limiter=services.rate_limiter),
        Middleware(FormsMiddleware),
        Middleware(DeadlineMiddleware, timeout_s=settings.limits.request_timeout_s),
    ]
