"""GET /v1/realtime?intent=transcription: Realtime transcription sessions over a WebSocket.

The handshake is refused with an HTTP status and OpenAI's envelope when the key is wrong
(gateway/middleware.py), the intent is not transcription, or the replica holds all the
sessions it may, or it is draining. Past the handshake, `LiveSession` owns the flow; this
module only moves messages and ends the session: client gone, idle too long, or the replica
draining (once its committed turns have their transcripts: an `error` event
`server_shutting_down`, then close code 1012).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request, WebSocket
from starlette.websockets import WebSocketDisconnect

from gateway.errors import ShuttingDown
from gateway.live_session import LiveSession, checked_model
from gateway.live_slots import SessionLimit
from gateway.middleware import EPHEMERAL_PREFIX, deny_websocket, request_tenant
from gateway.protocol.json_body import StrictJsonRoute
from gateway.protocol.realtime import ClientSecretRequest, TranscriptionSession, error_event, new_id
from gateway.services import Services
from models.errors import DomainError, InvalidRequest

log = logging.getLogger(__name__)

DRAIN_POLL_S = 0.5
"""How often a quiet session looks whether the replica is draining."""

router = APIRouter(tags=["realtime"], route_class=StrictJsonRoute)


@router.post("/v1/realtime/client_secrets", summary="Create an ephemeral key for a browser's Realtime session")
async def create_client_secret(body: ClientSecretRequest, request: Request) -> dict[str, Any]:
    """An `ek_...` key that opens transcription sessions, as the caller's tenant, until `expires_at`.

    The session configuration is checked as a `session.update` would be (model, language, formats)
    and kept with the key (by its sha256, in the database every replica shares): a session opened
    with the key starts with it. An ephemeral key cannot make another one (gateway/middleware.py).
    """
    services: Services = request.app.state.services
    config = TranscriptionSession().updated(body.session or {})
    model = await checked_model(services, config, services.settings.realtime.default_model)
    config.audio.input.transcription.model = model
    seconds = body.expires_after.seconds if body.expires_after else services.settings.realtime.client_secret_ttl_s
    value = EPHEMERAL_PREFIX + secrets.token_hex(24)
    expires_at = int(time.time()) + seconds
    store = services.store
    await store.run(store.create_client_secret, request_tenant(request), value, config.model_dump_json(), expires_at)
    return {"value": value, "expires_at": expires_at, "session": config.wire(new_id("sess"), model)}


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
    if services.drain.draining:
        return await deny_websocket(websocket.scope, websocket.receive, websocket.send, ShuttingDown())
    try:
        with services.live_sessions.hold():
            # a browser client offers `realtime` (and its key as a subprotocol): the handshake must choose it
            offered = websocket.scope.get("subprotocols", [])
            await websocket.accept(subprotocol="realtime" if "realtime" in offered else None)
            await _serve(websocket, services)
    except SessionLimit as exc:  # raised by hold(), before the handshake is answered
        await deny_websocket(websocket.scope, websocket.receive, websocket.send, exc)


async def _serve(websocket: WebSocket, services: Services) -> None:
    lock = asyncio.Lock()

    async def send(event: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_text(json.dumps(event))

    secret = websocket.scope.get("state", {}).get("client_secret")  # opened with an ephemeral key
    initial = TranscriptionSession.model_validate_json(secret.session) if secret is not None else None
    session = LiveSession(services, send, initial)
    idle_s = services.settings.realtime.idle_timeout_s
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + services.settings.realtime.max_session_s
    transcriber = asyncio.create_task(session.transcribe_turns())
    try:
        await session.start()
        last_event = loop.time()
        while True:
            if loop.time() >= ends_at:  # however busy: the session has had its time
                await send(error_event(_expired(services.settings.realtime.max_session_s)))
                await websocket.close(code=1000)
                return
            try:
                wait = max(min(idle_s, DRAIN_POLL_S, ends_at - loop.time()), 0.0)
                message = await asyncio.wait_for(websocket.receive(), timeout=wait)
            except TimeoutError:
                if session.busy:  # the client waits for transcripts: neither idle nor done
                    last_event = loop.time()  # and its idle time counts from the last of them
                    continue
                if services.drain.draining:  # every committed turn has its transcript: say goodbye
                    await send(error_event(ShuttingDown()))
                    await websocket.close(code=1012)  # service restart: reconnect to another replica
                    return
                if loop.time() - last_event >= idle_s:
                    timeout = InvalidRequest(
                        f"The session was idle for {idle_s:g} seconds and was closed.", code="session_idle_timeout"
                    )
                    await send(error_event(timeout))
                    await websocket.close(code=1000)
                    return
                continue
            last_event = loop.time()
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
    except Exception:  # a fault of ours: said once, logged once, and the session closed as failed (1011)
        log.exception("unhandled error in realtime session %s", session.id)
        with contextlib.suppress(Exception):
            await send(error_event(DomainError("The server had an error while processing your request.")))
            await websocket.close(code=1011)
    finally:
        session.close()
        transcriber.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await transcriber


def _expired(max_session_s: float) -> InvalidRequest:
    """OpenAI's words when a session reaches its maximum duration."""
    minutes = f"{max_session_s / 60:g} minutes" if max_session_s >= 60 else f"{max_session_s:g} seconds"
    return InvalidRequest(f"Your session hit the maximum duration of {minutes}.", code="session_expired")
