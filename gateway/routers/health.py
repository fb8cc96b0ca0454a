"""Liveness, readiness and metrics, outside /v1 (no API key needed)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from gateway.errors import envelope
from gateway.services import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """200 while the process serves HTTP (models loaded or loadable on demand)."""
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(services: ServicesDep) -> Any:
    """Whether this replica should get traffic: 503 while it drains, when a preloaded model failed
    or when the voice store never opened. The body says which models are loaded and why not ready.
    """
    reasons = services.not_ready()
    if services.drain.draining:
        status = "draining"
    else:
        status = "degraded" if reasons else "ready"
    store = services.store
    storage = {"backend": store.backend, "revision": store.revision, "error": store.error}
    body = {"status": status, "reasons": reasons, "models": services.registry.status(), "storage": storage}
    return JSONResponse(body, status_code=503 if reasons else 200)


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text exposition (see gateway/metrics.py for the names)."""
    if not services.settings.metrics:
        return JSONResponse(envelope("Metrics are turned off (setting `metrics`).", "not_found_error"), status_code=404)
    return Response(services.metrics.render(), media_type=services.metrics.content_type)
