"""Bridges from blocking workers to streamed responses, and SSE framing."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.errors import describe
from models.errors import GatewayError
from models.registry import Ticket, WorkQueue

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def sse_event(payload: dict[str, Any]) -> bytes:
    """One server-sent event: `data: {json}` and a blank line (no `event:` or `id:` lines)."""
    return b"data: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


def sse_error(exc: BaseException) -> bytes:
    """The event that ends a stream which failed after it started."""
    if isinstance(exc, GatewayError):
        return sse_event(describe(exc)[1])
    return sse_event(
        {
            "error": {
                "message": "The server had an error while processing your request.",
                "type": "server_error",
                "param": None,
                "code": None,
            }
        }
    )


Emit = Callable[[Any], None]


async def stream_from_thread(
    queue: WorkQueue,
    ticket: Ticket,
    work: Callable[[Emit, threading.Event], Any],
    *,
    max_pending: int = 0,
) -> AsyncIterator[tuple[str, Any]]:
    """Run `work(emit, cancel)` in the queue's worker thread.

    Yields ("item", x) for every `emit(x)` as it happens, then ("result", value) with
    what `work` returned. A worker error is raised here. When the consumer stops early
    (the client went away), `cancel` is set so the worker stops at its next step; its
    place in the queue is released once the thread has really finished.

    `max_pending` > 0 bounds the items emitted but not yet taken by the consumer: `emit`
    waits for room (a client that reads slowly slows the worker down instead of the
    server buffering its whole answer); once `cancel` is set it drops the item at once.
    Emit outside compute steps: the waiting holds the thread, not a core.
    """
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    cancel = threading.Event()
    room = threading.Semaphore(max_pending) if max_pending > 0 else None

    def emit(item: Any) -> None:
        while room is not None and not cancel.is_set() and not room.acquire(timeout=0.1):
            pass  # wait for the reader to take an item
        if cancel.is_set():
            return  # nobody will read it
        loop.call_soon_threadsafe(inbox.put_nowait, ("item", item))

    async def runner() -> None:
        try:
            result = await queue.run(work, emit, cancel, ticket=ticket)
            inbox.put_nowait(("result", result))
        except BaseException as exc:  # handed to the consumer
            inbox.put_nowait(("error", exc))

    task = asyncio.create_task(runner())
    _background.add(task)  # keep a reference until the thread is done
    task.add_done_callback(_background.discard)
    try:
        while True:
            kind, value = await inbox.get()
            if kind == "error":
                raise value
            if kind == "item" and room is not None:
                room.release()
            yield kind, value
            if kind == "result":
                return
    finally:
        cancel.set()


_background: set[asyncio.Task[None]] = set()


class TicketStream(StreamingResponse):
    """A streamed response whose work holds a queue ticket.

    The stream's own work releases the ticket when it ends. If the response ends before
    the stream began (the client left, the request ran out of time), nothing would: this
    releases it then.
    """

    def __init__(self, content: AsyncIterator[bytes], ticket: Ticket, **kwargs: Any):
        self.ticket = ticket
        self.began = False

        async def marked() -> AsyncIterator[bytes]:
            self.began = True
            async for chunk in content:
                yield chunk

        super().__init__(marked(), **kwargs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.began:
                self.ticket.release()
