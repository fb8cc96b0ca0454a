"""API keys: Bearer auth on /v1/*, and the tenant each key stands for."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.errors import AuthenticationFailed, error_response
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


class ApiKeyMiddleware:
    """Bearer auth on /v1/*: with keys configured, every request must carry one of them.

    Sets `scope["state"]["tenant"]`: one tenant per key, or the default tenant when auth is off.
    """

    def __init__(self, app: ASGIApp, api_keys: list[str]) -> None:
        self.app = app
        self.keys = {k: tenant_of(k) for k in api_keys}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope, websocket=True):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if not self.keys:
            state["tenant"] = DEFAULT_TENANT
            return await self.app(scope, receive, send)
        auth = header(scope, b"authorization") or _subprotocol_key(scope)
        scheme, _, key = auth.partition(" ")
        key = key.strip()
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


async def deny_websocket(scope: Scope, receive: Receive, send: Send, exc: DomainError) -> None:
    """Refuse a WebSocket handshake with the HTTP status and envelope of `exc`.

    Where the server lacks ASGI's denial-response extension, the handshake is closed instead
    (the client sees 403 with no body).
    """
    if "websocket.http.response" in scope.get("extensions", {}):
        return await error_response(exc)(scope, receive, send)
    await send({"type": "websocket.close", "code": 1008, "reason": exc.message[:120]})
