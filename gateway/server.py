"""Running the app under uvicorn, with draining on SIGTERM.

The first SIGTERM or SIGINT begins the drain (gateway/draining.py): readiness turns 503
and new /v1 requests get 503. After `server.drain_min_s` the listener closes, so a
balancer's new connections are refused and go to another replica, while requests in
flight run to their end for the rest of `server.shutdown_grace_s` (uvicorn's graceful
timeout); then the lifespan unloads the models and the process exits 0. Live (realtime)
sessions are ended by their own loop once their committed turns have their transcripts
(`server_shutting_down`, close 1012); the listener stays open until they have, or until the
grace runs out, because uvicorn's own shutdown would cut them with 1012 and no transcript.
A second signal skips the wait for `drain_min_s`; a third SIGINT forces the exit.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections.abc import Callable
from types import FrameType

import uvicorn

from gateway.app import create_app
from gateway.draining import Drain
from gateway.logs import configure_logging
from gateway.protocol.realtime import max_message_bytes
from gateway.settings import Settings

log = logging.getLogger(__name__)


class DrainingServer(uvicorn.Server):
    """uvicorn.Server whose first exit signal drains instead of stopping."""

    def __init__(
        self, config: uvicorn.Config, drain: Drain, grace_s: float, min_s: float, live: Callable[[], int] = lambda: 0
    ):
        """`live`: how many realtime sessions are still open (they end themselves while draining)."""
        super().__init__(config)
        self.drain = drain
        self.grace_s = grace_s
        self.min_s = min_s
        self.live = live

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.drain.draining and not self.should_exit and self.grace_s > 0:
            self.drain.begin()
            return
        super().handle_exit(sig, frame)

    async def on_tick(self, counter: int) -> bool:
        if self.drain.draining and not self.should_exit:
            elapsed = self.drain.elapsed()
            if elapsed >= self.grace_s or (elapsed >= self.min_s and self.live() == 0):
                left = self.grace_s - elapsed
                log.info("draining: %d request(s) in flight get %.0fs to finish", self.drain.in_flight, left)
                # uvicorn closes the listener and idle connections, then waits for the rest.
                self.config.timeout_graceful_shutdown = max(1, int(self.grace_s - elapsed))
                self.should_exit = True
        return await super().on_tick(counter)


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(count: int) -> bool:
    """Cap glibc's malloc arenas for this process; whether it was done.

    glibc gives threads that allocate at once arenas of their own, up to 8 per core, and
    memory freed in one is not reused by another: with decoding threads that come and go,
    a long transcription's resident memory crept up by about 100 MiB an hour; with 2 arenas
    it stays flat (docs/benchmarks.md, long audio). Done before any worker thread starts.
    """
    if count <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):  # not glibc
        return False


def serve(settings: Settings) -> None:
    configure_logging(settings.log_level, settings.log_format)
    limit_malloc_arenas(settings.server.malloc_arenas)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # configure_logging already routed uvicorn's loggers
        access_log=False,  # the gateway writes its own access line
        timeout_keep_alive=int(settings.server.keep_alive_s),
        timeout_graceful_shutdown=max(1, int(settings.server.shutdown_grace_s)),
        forwarded_allow_ips=settings.server.forwarded_allow_ips,
        proxy_headers=True,
        ws_max_size=max_message_bytes(settings.realtime.max_append_bytes),  # an append at the limit fits
    )
    services = app.state.services
    server = DrainingServer(
        config,
        services.drain,
        settings.server.shutdown_grace_s,
        settings.server.drain_min_s,
        live=lambda: services.live_sessions.active,
    )
    server.run()
