"""Body-size limits that never buffer: 413 before a byte is read, or as a chunked body passes the limit."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import error_response
from gateway.middleware.scope import header
from models.errors import PayloadTooLarge

BODY_SLACK_BYTES = 12 * 1024 * 1024
"""Room above the largest upload for the other form fields: four speaker reference clips of 10 s
as base64 data URLs (a 48 kHz stereo wav of 10 s is 2.6 MB in base64)."""


class BodyLimitMiddleware:
    """Refuse request bodies over `limit` bytes without reading them whole.

    A declared Content-Length over the limit is answered 413 before a byte is read; a
    chunked body (no Content-Length, as Ruby's client sends) is counted as it streams and
    cut off at the limit.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = header(scope, b"content-length")
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
