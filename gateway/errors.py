"""Every error leaves as OpenAI's envelope: {"error": {message, type, param, code}}.

Workers raise domain errors (models/errors.py); this module maps them to HTTP by class,
once. Validation failures are 400 with `param`, never FastAPI's default 422.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.errors import (
    AudioDecodeError,
    Cancelled,
    Conflict,
    GatewayError,
    InvalidRequest,
    ModelNotFound,
    ModelUnavailable,
    NotFound,
    PayloadTooLarge,
    QueueFull,
)

log = logging.getLogger(__name__)


class AuthenticationFailed(GatewayError):
    """Missing or wrong API key."""


class PermissionDenied(GatewayError):
    """The key is valid but may not do this."""


class ServiceUnavailable(GatewayError):
    """A dependency (database, model) is down; the rest of the server works."""


class ShuttingDown(ServiceUnavailable):
    """This replica is draining before it stops; another one (or this one, later) will answer."""

    def __init__(self) -> None:
        super().__init__("This server is shutting down; retry the request.", code="server_shutting_down")
        self.retry_after = 1.0


class RateLimited(GatewayError):
    """The API key used up its request rate; `retry_after` seconds until its next request."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after = retry_after


class RequestTimeout(GatewayError):
    """The request took longer than its time budget; its work was stopped."""


# (status, OpenAI type word), most specific class first.
_MAPPING: tuple[tuple[type[GatewayError], int, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error"),
    (NotFound, 404, "not_found_error"),
    (AudioDecodeError, 400, "invalid_request_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (PayloadTooLarge, 413, "invalid_request_error"),
    (Conflict, 409, "invalid_request_error"),
    (QueueFull, 429, "rate_limit_error"),
    (RateLimited, 429, "rate_limit_error"),
    (RequestTimeout, 504, "server_error"),
    (AuthenticationFailed, 401, "authentication_error"),
    (PermissionDenied, 403, "permission_error"),
    (ModelUnavailable, 503, "server_error"),
    (ServiceUnavailable, 503, "server_error"),
    (Cancelled, 499, "invalid_request_error"),
)

_STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    429: "rate_limit_error",
}


def envelope(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def describe(exc: GatewayError) -> tuple[int, dict[str, Any]]:
    """Status code and envelope for a domain error."""
    for cls, status, type_ in _MAPPING:
        if isinstance(exc, cls):
            return status, envelope(exc.message, type_, exc.param, exc.code)
    return 500, envelope(exc.message, "server_error", exc.param, exc.code)


def error_response(exc: GatewayError) -> JSONResponse:
    status, body = describe(exc)
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:  # QueueFull, RateLimited, ShuttingDown, InsufficientMemory
        headers = {"retry-after": str(max(1, math.ceil(retry_after))), "retry-after-ms": str(int(retry_after * 1000))}
    if isinstance(exc, RequestTimeout):
        headers = {"x-should-retry": "false"}  # the same request would most likely run out of time again
    if isinstance(exc, AuthenticationFailed):
        headers = {"www-authenticate": "Bearer"}
    if isinstance(exc, Conflict):
        headers = {"x-should-retry": "false"}  # the SDKs retry 409 by default; this one will not change
    return JSONResponse(body, status_code=status, headers=headers)


def validation_param(loc: tuple[Any, ...]) -> str | None:
    """The wire name of the field a pydantic error points at."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return parts[0] if parts else None


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the envelope."""

    @app.exception_handler(GatewayError)
    async def _domain(request: Request, exc: GatewayError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        param = validation_param(tuple(first.get("loc", ())))
        message = f"Invalid value for '{param}': {first.get('msg')}" if param else str(first.get("msg"))
        return JSONResponse(envelope(message, "invalid_request_error", param, "invalid_value"), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = _STATUS_TYPES.get(exc.status_code, "server_error" if exc.status_code >= 500 else "invalid_request_error")
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            message = f"Unknown request URL: {request.method} {request.url.path}."
        return JSONResponse(envelope(message, type_), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        request_id = request.scope.get("state", {}).get("request_id", "")
        return JSONResponse(
            envelope("The server had an error while processing your request.", "server_error"),
            status_code=500,
            headers={"x-request-id": request_id} if request_id else None,
        )
