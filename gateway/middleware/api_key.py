"""API keys: Bearer auth on /v1/*, and the tenant each key stands for; ephemeral keys for Realtime."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import AuthenticationFailed, PermissionDenied, error_response
from gateway.middleware.scope import header, is_api
from gateway.tenants import DEFAULT_TENANT, tenant_of
from models.errors import DomainError

API_KEY_SUBPROTOCOL = "openai-insecure-api-key."
"""Browsers cannot set headers on a WebSocket: OpenAI's browser clients offer the key as a subprotocol."""


def _subprotocol_key(scope: Scope) -> str:
    """`Bearer KEY` from a WebSocket's `openai-insecure-api-key.KEY` subprotocol, else ""."""
    if scope["type"] != "websocket":
        return ""
    protocols: list[str] = scope.get("subprotocols", [])
    for protocol in protocols:
        if protocol.startswith(API_KEY_SUBPROTOCOL):
            return "Bearer " + protocol[len(API_KEY_SUBPROTOCOL) :]
    return ""


EPHEMERAL_PREFIX = "ek_"
"""Ephemeral keys from POST /v1/realtime/client_secrets start with this, as OpenAI's do."""

REALTIME_PATH = "/v1/realtime"
"""The one thing an ephemeral key may do: open a Realtime session here (a WebSocket)."""

LookupSecret = Callable[[str], Awaitable[Any]]
"""An ephemeral key -> its stored record (`tenant`, `session`, `expires_at`), or None if unknown."""


class ApiKeyMiddleware:
    """Bearer auth on /v1/*: with keys configured, every request must carry one of them.

    Sets `scope["state"]["tenant"]`: one tenant per key, or the default tenant when auth is off.
    An ephemeral key (`ek_...`, checked whether or not API keys are configured) opens Realtime
    sessions only, as the tenant of the key that minted it; `scope["state"]["client_secret"]`
    then holds its record (the session configuration it starts with).
    """

    def __init__(self, app: ASGIApp, api_keys: list[str], client_secrets: LookupSecret | None = None) -> None:
        self.app = app
        self.keys = {k: tenant_of(k) for k in api_keys}
        self.client_secrets = client_secrets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope, websocket=True):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        auth = header(scope, b"authorization") or _subprotocol_key(scope)
        scheme, _, key = auth.partition(" ")
        key = key.strip()
        if scheme.lower() == "bearer" and key.startswith(EPHEMERAL_PREFIX) and self.client_secrets is not None:
            return await self._ephemeral(key, scope, receive, send)
        if not self.keys:
            state["tenant"] = DEFAULT_TENANT
            return await self.app(scope, receive, send)
        if scheme.lower() != "bearer" or key not in self.keys:
            message = (
                "You didn't provide an API key. Provide it in the Authorization header as `Bearer YOUR_KEY`."
                if not key
                else "Incorrect API key provided."
            )
            exc = AuthenticationFailed(message, code="invalid_api_key")
            if scope["type"] == "websocket":
                return await deny_websocket(scope, receive, send, exc)
            return await error_response(exc)(scope, receive, send)
        state["tenant"] = self.keys[key]
        return await self.app(scope, receive, send)

    async def _ephemeral(self, key: str, scope: Scope, receive: Receive, send: Send) -> None:
        """An `ek_` key: a Realtime session of its tenant while it lives; nothing else (not even a new key)."""
        assert self.client_secrets is not None
        exc: DomainError | None = None
        if scope["type"] != "websocket" or scope["path"].rstrip("/") != REALTIME_PATH:
            exc = PermissionDenied(
                "Ephemeral keys (ek_...) can only open Realtime sessions (GET /v1/realtime over a WebSocket); "
                "use an API key for this endpoint.",
                code="ephemeral_key_not_allowed",
            )
        else:
            try:
                record = await self.client_secrets(key)
            except DomainError as failure:  # the database is down: 503, not a wrong key
                record, exc = None, failure
            if exc is None and record is None:
                exc = AuthenticationFailed("Incorrect API key provided: unknown ephemeral key.", code="invalid_api_key")
            elif exc is None and record.expires_at <= time.time():
                exc = AuthenticationFailed(
                    "Incorrect API key provided: the ephemeral key has expired; create a new one.",
                    code="invalid_api_key",
                )
        if exc is not None:
            if scope["type"] == "websocket":
                return await deny_websocket(scope, receive, send, exc)
            return await error_response(exc)(scope, receive, send)
        state = scope.setdefault("state", {})
        state["tenant"], state["client_secret"] = record.tenant, record
        return await self.app(scope, receive, send)


async def deny_websocket(scope: Scope, receive: Receive, send: Send, exc: DomainError) -> None:
    """Refuse a WebSocket handshake with the HTTP status and envelope of `exc`.

    Where the server lacks ASGI's denial-response extension, the handshake is closed instead
    (the client sees 403 with no body).
    """
    if "websocket.http.response" in scope.get("extensions", {}):
        return await error_response(exc)(scope, receive, send)
    await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})
