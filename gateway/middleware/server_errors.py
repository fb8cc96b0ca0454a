"""Any exception that escapes a route becomes a complete answer (gateway/errors.py's envelope)."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import SERVER_ERROR_CODE, envelope, error_response
from models.errors import DomainError

log = logging.getLogger(__name__)


class ServerErrorMiddleware:
    """Turn any exception that escapes a route into a complete answer on a reusable connection.

    Sits inside the request-id and telemetry middleware, so the traceback is logged with the
    request's own id and the access line counts the 500. A domain error raised outside a route
    (a middleware) gets its mapped status. Starlette's own ServerErrorMiddleware would answer
    and then re-raise, and uvicorn closes a connection whose app raised: the client's next
    request on it was reset.

    Once a response has begun, nothing can make it whole: the error is logged and the
    connection is closed under the half-sent body (uvicorn does that when the app returns
    without finishing), so the client sees a broken response, never a truncated one that
    looks complete.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:
                log.exception("error after the response began on %s %s", scope.get("method"), scope.get("path"))
                return
            if isinstance(exc, DomainError):
                response = error_response(exc)
            else:
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                message = "The server had an error while processing your request."
                body = envelope(message, "server_error", None, SERVER_ERROR_CODE)
                response = JSONResponse(body, status_code=500)
            await response(scope, receive, send)
