"""The time budget and client watch of every /v1 request.

`DeadlineMiddleware` runs a request inside a cancel scope that ends when its time budget
runs out or when its client goes away. Cancelling reaches the worker: `WorkQueue.run`
sets the work's cancel event and the worker stops at its next step. A request out of
time is answered 504 if nothing was sent yet; a stream that already started ends with an
error event (SSE) or is cut off (audio), so the client never takes it for complete.
"""

from __future__ import annotations

import asyncio
import logging

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import RequestTimeout, error_response
from gateway.middleware.scope import is_api
from gateway.streaming import sse_error

log = logging.getLogger(__name__)


class DeadlineMiddleware:
    """Stop a /v1 request's work when it runs out of time or its client goes away."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not is_api(scope):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        started = complete = body_done = False
        event_stream = False
        gone = asyncio.Event()
        listener: asyncio.Task[None] | None = None

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
