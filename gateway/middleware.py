"""ASGI middleware: request ids, API keys, and body-size limits that never buffer."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import AuthenticationFailed, error_response
from gateway.logs import REQUEST_ID
from models.errors import DomainError, PayloadTooLarge

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
DEFAULT_TENANT = "default"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestIdMiddleware:
    """Give every request an id (the caller's, if sane) and echo it as `x-request-id`."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _SAFE_ID.match(incoming) else f"req_{secrets.token_hex(16)}"
        scope.setdefault("state", {})["request_id"] = request_id
        # Not reset: the server runs each request in a task of its own, whose context ends with it, so
        # what uvicorn logs about this request after the app has returned carries its id too.
        REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_tenant(request: Any) -> str:
    """The tenant `ApiKeyMiddleware` gave this request (the default tenant when auth is off)."""
    return request.scope.get("state", {}).get("tenant", DEFAULT_TENANT)


API_KEY_SUBPROTOCOL = "openai-insecure-api-key."
"""Browsers cannot set headers on a WebSocket: OpenAI's browser clients offer the key as a subprotocol."""


def _subprotocol_key(scope: Scope) -> str:
    """`Bearer KEY` from a WebSocket's `openai-insecure-api-key.KEY` subprotocol, else ""."""
    if scope["type"] != "websocket":
        return ""
    for protocol in scope.get("subprotocols", ()):
        if protocol.startswith(API_KEY_SUBPROTOCOL):
            return "Bearer " + protocol[len(API_KEY_SUBPROTOCOL) :]
    return ""


def tenant_of(api_key: str) -> str:
    """A stable, non-secret tenant id for an API key."""
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


class ApiKeyMiddleware:
    """Bearer auth on /v1/*: with keys configured, every request must carry one of them.

    Sets `scope["state"]["tenant"]`: one tenant per key, or the default tenant when auth is off.
    """

    def __init__(self, app: ASGIApp, api_keys: list[str]):
        self.app = app
        self.keys = {k: tenant_of(k) for k in api_keys}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if not self.keys:
            state["tenant"] = DEFAULT_TENANT
            return await self.app(scope, receive, send)
        auth = _header(scope, b"authorization") or _subprotocol_key(scope)
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


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes without reading them whole.

    A declared Content-Length over the limit is answered 413 before a byte is read; a
    chunked body (no Content-Length, as Ruby's client sends) is counted as it streams and
    cut off at the limit.
    """

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")
        too_large = PayloadTooLarge(
            f"Request body exceeds the maximum of {self.limit} bytes.", code="request_too_large"
        )
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _drain(receive)
            return await error_response(too_large)(scope, receive, send)
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    if message.get("more_body", False):
                        await _drain(receive)
                    raise too_large
            return message

        await self.app(scope, counting_receive, send)


async def _drain(receive: Receive) -> None:
    """Read and discard the rest of a refused body, so the client sees our answer.

    Closing on a client still sending makes its kernel reset the connection and lose the
    413; discarding keeps nothing in memory.
    """
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
