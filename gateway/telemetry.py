"""One access line and one set of metric updates per request.

`TelemetryMiddleware` sits just inside `RequestIdMiddleware`. Routers add what only
they know with `note(request, model=..., audio_seconds=...)`; the API key middleware
has set the tenant. When the response's last byte is sent (or the client is gone), the
request is counted and logged once: request id, method, path, status, duration, model,
tenant. Probes (`/health*`, `/metrics`) are logged at debug level only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

access_log = logging.getLogger("gateway.access")

NO_MODEL = "none"
UNMATCHED = "unmatched"  # no route: keeps unknown paths out of the metrics' label values
CLIENT_CLOSED = 499


@dataclass
class RequestRecord:
    """What a request was about, filled in as it is handled."""

    model: str = NO_MODEL
    audio_seconds: float = 0.0
    status: int | None = None


def note(request: Any, *, model: str | None = None, audio_seconds: float | None = None) -> None:
    """Record the serving model (worker name) or seconds of audio processed for this request."""
    record: RequestRecord | None = request.scope.get("state", {}).get("telemetry")
    if record is None:
        return
    if model is not None:
        record.model = model
    if audio_seconds is not None:
        record.audio_seconds += audio_seconds
