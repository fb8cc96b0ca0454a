"""GET /v1/realtime?intent=transcription: Realtime transcription sessions over a WebSocket.

The handshake is refused with an HTTP status and OpenAI's envelope when the key is wrong
(gateway/middleware.py), the intent is not transcription, or the replica holds all the
sessions it may. Past the handshake, `LiveSession` owns the flow; this module only moves
messages and ends the session: client gone, idle too long, or the server stopping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from gateway.live_session import LiveSession
from gateway.live_slots import SessionLimit
from gateway.middleware import deny_websocket
from gateway.protocol.realtime import error_event
from gateway.services import Services
from models.errors import InvalidRequest

log = logging.getLogger(__name__)

router = APIRouter(tags=["realtime"])


@router.websocket("/v1/realtime")
async def realtime(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    intent = websocket.query_params.get("intent")
    if intent != "transcription":
        refusal = InvalidRequest(
            "This server serves Realtime transcription sessions only: connect with `?intent=transcription`.",
            param="intent",
            code="invalid_value",
        )
        return await deny_websocket(websocket.scope, websocket.receive, websocket.send, refusal)
    try:
        with services.live_sessions.hold():
            await websocket.accept()
            await _serve(websocket, services)
    except SessionLimit as exc:  # raised by hold(), before the handshake is answered
        await deny_websocket(websocket.scope, websocket.receive, websocket.send, exc)


async def _serve(websocket: WebSocket, services: Services) -> None:
    lock = asyncio.Lock()

    async def send(event: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_text(json.dumps(event))

    session = LiveSession(services, send)
    idle_s = services.settings.realtime.idle_timeout_s
    transcriber = asyncio.create_task(session.transcribe_turns())
    try:
        await session.start()
        while True:
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=idle_s)
            except TimeoutError:
                if session.busy:  # the client waits for transcripts: not idle
                    continue
                timeout = InvalidRequest(
                    f"The session was idle for {idle_s:g} seconds and was closed.", code="session_idle_timeout"
                )
                await send(error_event(timeout))
                await websocket.close(code=1000)
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                binary = InvalidRequest("Client events are JSON text messages, not binary ones.", code="invalid_json")
                await send(error_event(binary))
                continue
            await session.handle(text)
    except (WebSocketDisconnect, OSError):  # the client went away, even mid-send
        return
    finally:
        session.close()
        transcriber.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await transcriber
