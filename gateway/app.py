"""The application factory: create_app(settings) -> FastAPI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from gateway import errors, middleware
from gateway.errors import ServiceUnavailable
from gateway.routers import health, models, playground, realtime, speech, transcriptions, voice_consents, voices
from gateway.services import build_services
from gateway.settings import Settings

log = logging.getLogger(__name__)

def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for `settings` (default: configs/default.yaml and the environment).

    Nothing is loaded here: the lifespan opens the store and preloads the pinned models.
    """
    settings = settings or Settings.load()
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not settings.api_keys:
            log.warning("no API keys configured (GATEWAY_API_KEYS): every request is accepted")
        try:
            await anyio.to_thread.run_sync(services.store.open)
        except ServiceUnavailable as exc:  # the rest of the API works; voice calls retry and answer 503
            log.error("%s", exc.message)
        await services.registry.preload()
        housekeeping = asyncio.create_task(services.registry.run_housekeeping())
        try:
            yield
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            services.registry.unload_all()
            services.rate_limiter.close()
            services.store.close()

    app = FastAPI(
        title="audio-gateway",
        summary="OpenAI's Audio API on open models, on your own hardware.",
        version="0.1.0",
        lifespan=lifespan,
        middleware=middleware.stack(services),
    )
    app.state.services = services
    errors.install(app)
    for module in (health, models, transcriptions, speech, voice_consents, voices, realtime):
        app.include_router(module.router)
    if settings.playground:
        app.include_router(playground.router)
    return app
