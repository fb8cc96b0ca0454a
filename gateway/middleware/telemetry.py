"""One access line and one set of metric updates per request (what routers `note`d: gateway/telemetry.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.logs import REQUEST_ID
from gateway.metrics import Metrics
from gateway.telemetry import CLIENT_CLOSED, NO_MODEL, UNMATCHED, RequestRecord

access_log = logging.getLogger("gateway.access")


class TelemetryMiddleware:
    """Counts and logs each request once, when its last byte is sent or its client is gone."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        record = state["telemetry"] = RequestRecord()
        token = REQUEST_ID.set(state.get("request_id"))
        start = time.perf_counter()

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if self.metrics is not None:
            self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, recording_send)
        except BaseException:
            if record.status is None:
                record.status = 500
            raise
        finally:
            if self.metrics is not None:
                self.metrics.in_flight.dec()
            self._finish(scope, state, record, time.perf_counter() - start)
            REQUEST_ID.reset(token)

    def _finish(self, scope: Scope, state: dict[str, Any], record: RequestRecord, seconds: float) -> None:
        status = CLIENT_CLOSED if state.get("disconnected") else (record.status or 500)
        route = scope.get("route")
        endpoint = getattr(route, "path", None) or UNMATCHED
        if self.metrics is not None:
            self.metrics.observe(endpoint, record.model, status, seconds, record.audio_seconds)
        path: str = scope.get("path", "")
        probe = path == "/metrics" or path.startswith("/health")
        client = scope.get("client")
        access_log.log(
            logging.DEBUG if probe else logging.INFO,
            "%s %s %s",
            scope.get("method"),
            path,
            status,
            extra={
                "request_id": state.get("request_id"),
                "method": scope.get("method"),
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "model": record.model if record.model != NO_MODEL else None,
                "tenant": state.get("tenant"),
                "client": client[0] if client else None,
                "audio_seconds": round(record.audio_seconds, 3) if record.audio_seconds else None,
            },
        )
