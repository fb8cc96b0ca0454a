"""Liveness and readiness, outside /v1 (no API key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.services import Services

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """200 while the server accepts requests (models loaded or loadable on demand)."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> Any:
    """Which models are loaded and whether the voice store is reachable; 503 if either failed."""
    services: Services = request.app.state.services
    models = services.registry.status()
    failed = [name for name, entry in services.registry.entries.items() if entry.preload and not entry.worker.loaded]
    store = services.store
    storage = {"backend": store.backend, "revision": store.revision, "error": store.error}
    ok = not failed and store.revision is not None
    status = "ready" if ok else "degraded"
    return JSONResponse({"status": status, "models": models, "storage": storage}, status_code=200 if ok else 503)
