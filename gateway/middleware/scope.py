"""What the middleware asks of a request's ASGI scope."""

from __future__ import annotations

from starlette.types import Scope

API_PREFIX = "/v1/"


def is_api(scope: Scope, *, websocket: bool = False) -> bool:
    """Whether the scope is a request to the OpenAI API (`/v1/...`): HTTP, or also a WebSocket with `websocket`."""
    kinds = ("http", "websocket") if websocket else ("http",)
    return scope["type"] in kinds and str(scope["path"]).startswith(API_PREFIX)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (`name` in lower case), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None
