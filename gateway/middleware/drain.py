"""Draining (gateway/draining.py): /v1 requests in flight are counted; new ones get 503 while draining."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.draining import Drain
from gateway.errors import ShuttingDown, error_response
from gateway.middleware.scope import is_api


class DrainMiddleware:
    """Counts /v1 requests in flight; refuses new ones with 503 while draining."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope):
            return await self.app(scope, receive, send)
        if self.drain.draining:
            response = error_response(ShuttingDown())
            response.headers["connection"] = "close"
            return await response(scope, receive, send)
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.in_flight -= 1
