"""Every error leaves as OpenAI's envelope: {"error": {message, type, param, code}}.

Workers raise domain errors (models/errors.py); this module maps them to HTTP by class,
once. Validation failures are 400 with `param`, never FastAPI's default 422.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.protocol.validation import validation_problem
from models.errors import (
    MAX_ECHOED,
    AudioDecodeError,
    Cancelled,
    Conflict,
    DomainError,
    InvalidRequest,
    ModelNotFound,
    ModelUnavailable,
    NotFound,
    PayloadTooLarge,
    QueueFull,
)

log = logging.getLogger(__name__)


class AuthenticationFailed(DomainError):
    """Missing or wrong API key."""


class PermissionDenied(DomainError):
    """The key is valid but may not do this."""


class ServiceUnavailable(DomainError):
    """A dependency (database, model) is down; the rest of the server works."""


class ShuttingDown(ServiceUnavailable):
    """This replica is draining before it stops; another one (or this one, later) will answer."""

    def __init__(self) -> None:
        super().__init__("This server is shutting down; retry the request.", code="server_shutting_down")
        self.retry_after = 1.0


class RateLimited(DomainError):
    """The API key used up its request rate; `retry_after` seconds until its next request."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after = retry_after


class RequestTimeout(DomainError):
    """The request took longer than its time budget; its work was stopped."""


# (class, status, OpenAI type word, code when the error names none), most specific class first.
# Every class has a code, so no answer leaves with `code: null`.
_MAPPING: tuple[tuple[type[DomainError], int, str, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error", "model_not_found"),
    (NotFound, 404, "not_found_error", "not_found"),
    (AudioDecodeError, 400, "invalid_request_error", "invalid_value"),
    (InvalidRequest, 400, "invalid_request_error", "invalid_value"),
    (PayloadTooLarge, 413, "invalid_request_error", "request_too_large"),
    (Conflict, 409, "invalid_request_error", "conflict"),
    (QueueFull, 429, "rate_limit_error", "rate_limit_exceeded"),
    (RateLimited, 429, "rate_limit_error", "rate_limit_exceeded"),
    (RequestTimeout, 504, "server_error", "request_timeout"),
    (AuthenticationFailed, 401, "authentication_error", "invalid_api_key"),
    (PermissionDenied, 403, "permission_error", "permission_denied"),
    (ModelUnavailable, 503, "server_error", "model_unavailable"),
    (ServiceUnavailable, 503, "server_error", "service_unavailable"),
    (Cancelled, 499, "invalid_request_error", "client_closed_request"),
)
SERVER_ERROR_CODE = "internal_error"
"""The code of a 500 and of a domain error no row above maps."""

# Errors Starlette raises itself (no route, wrong method, a body FastAPI could not parse).
_STATUS_TYPES: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("not_found_error", "unknown_url"),
    405: ("invalid_request_error", "method_not_allowed"),
    409: ("invalid_request_error", "conflict"),
    413: ("invalid_request_error", "request_too_large"),
    415: ("invalid_request_error", "invalid_content_type"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


MAX_MESSAGE_CHARS = 2000
"""A message's length at most, whatever it quotes (a backstop: `_cut_quotes` cuts each quote first)."""
_LONG = f"{{{MAX_ECHOED + 1},}}"
_QUOTE = re.compile(rf"`([^`]{_LONG})`|(?<![\w'])'([^']{_LONG})'(?![\w'])|(\S{_LONG}?)(?=[.,;:]?(?:\s|$))")
"""A quoted value (in backticks, or in single quotes as pydantic and our field names are), or any run
of characters without a space, longer than `MAX_ECHOED`: only a client's value is ever that long."""


def _cut_quotes(message: str) -> str:
    """`message` with every long quoted value cut to `MAX_ECHOED` characters, `...` and its length."""

    def cut(match: re.Match[str]) -> str:
        quote = "`" if match.group(1) is not None else "'" if match.group(2) is not None else ""
        value = match.group(1) or match.group(2) or match.group(3)
        return f"{quote}{value[:MAX_ECHOED]}... ({len(value)} characters){quote}"

    return _QUOTE.sub(cut, message)


def envelope(message: str, type_: str, param: str | None = None, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error body. Every error of every surface (HTTP, SSE, Realtime events) is made here, so a
    value the client sent is never echoed whole: each long quote is cut, then the message at
    `MAX_MESSAGE_CHARS`; a long `param` (an unknown field's name) is cut like a quote."""
    message = _cut_quotes(message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    if param is not None and len(param) > MAX_ECHOED:  # an unknown field's name is the client's too
        param = f"{param[:MAX_ECHOED]}... ({len(param)} characters)"
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def describe(exc: DomainError) -> tuple[int, dict[str, Any]]:
    """Status code and envelope for a domain error."""
    for cls, status, type_, code in _MAPPING:
        if isinstance(exc, cls):
            return status, envelope(exc.message, type_, exc.param, exc.code or code)
    return 500, envelope(exc.message, "server_error", exc.param, exc.code or SERVER_ERROR_CODE)


def error_response(exc: DomainError) -> JSONResponse:
    """The JSON answer for a domain error, with `Retry-After` when the error says when to retry."""
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


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the envelope."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_envelope(exc.errors()), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, DomainError):  # e.g. the body limit, hit while FastAPI read a JSON body
            return error_response(exc.__cause__)
        fallback = ("server_error", SERVER_ERROR_CODE) if exc.status_code >= 500 else _STATUS_TYPES[400]
        type_, code = _STATUS_TYPES.get(exc.status_code, fallback)
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404:
            message = f"Unknown request URL: {request.method} {request.url.path}."
        elif exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse a JSON body
            message, code = "The request body is not valid JSON (or nests too deeply).", "invalid_json"
        return JSONResponse(envelope(message, type_, None, code), status_code=exc.status_code, headers=exc.headers)


def validation_envelope(errors: Any) -> dict[str, Any]:
    """The envelope of a pydantic/FastAPI validation failure: the field as `param` (see protocol/validation)."""
    if errors and errors[0].get("type") == "json_invalid":
        message = f"The request body is not valid JSON: {errors[0].get('msg')}."
        return envelope(message, "invalid_request_error", None, "invalid_json")
    problem = validation_problem(errors)
    return envelope(problem.message, "invalid_request_error", problem.param, problem.code)

