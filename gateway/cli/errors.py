"""What goes wrong in a client command, said in one line."""

from __future__ import annotations

from typing import Any


class CliError(Exception):
    """A failure to report as `audio-gateway: <message>` with exit status `status`."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def server_message(exc: Any) -> str:
    """`openai.APIStatusError` -> `HTTP 404: The model `x` does not exist ...` (the server's own words)."""
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        message = body.get("message") or (body.get("error") or {}).get("message")
    if not message:
        response = getattr(exc, "response", None)
        message = (response.text.strip() if response is not None else "") or str(exc)
    status = getattr(exc, "status_code", None)
    return f"server answered {status}: {message}" if status else str(message)


def error_param(exc: Any) -> str | None:
    """The `param` of an OpenAI error envelope, when the server named one."""
    body = getattr(exc, "body", None)
    return body.get("param") if isinstance(body, dict) else None


def translate(exc: BaseException) -> CliError | None:
    """The openai and httpx exceptions a command may meet, as CliErrors; None for anything else."""
    import httpx
    import openai

    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return CliError(server_message(exc))
    if isinstance(exc, openai.APITimeoutError):
        return CliError("the server did not answer in time (raise --timeout)")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        request = getattr(exc, "request", None)
        where = f" at {request.url.scheme}://{request.url.netloc.decode()}" if request is not None else ""
        return CliError(f"cannot reach the server{where}: {cause}")
    if isinstance(exc, httpx.HTTPError):
        return CliError(f"the connection to the server failed: {exc}")
    return None
