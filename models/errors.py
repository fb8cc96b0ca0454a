"""Domain errors raised by workers. `gateway/errors.py` maps each class to HTTP once."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error raised on purpose, by a worker or the serving side: what went wrong in
    the caller's terms (`message`, and the request field `param` it concerns), never how HTTP says it."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


class InvalidRequest(DomainError):
    """The caller asked for something this server cannot do with these values."""


class NotFound(DomainError):
    """A model, voice or stored object the caller named does not exist (for them)."""


MAX_ECHOED = 200
"""Characters of a caller's value an error message repeats (the rest is cut: `...`, gateway/errors.py)."""


class ModelNotFound(NotFound):
    """No served model has this id (or none of the kind the endpoint needs)."""

    def __init__(self, model: str, *, kind: str = "model"):
        super().__init__(
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )
        self.model = model


class Conflict(DomainError):
    """The request contradicts the stored state (e.g. deleting a consent that voices still use)."""


class AudioDecodeError(InvalidRequest):
    """The upload is not audio we can decode."""


class PayloadTooLarge(DomainError):
    """An upload over its size limit."""


class ModelUnavailable(DomainError):
    """A configured model cannot be loaded (missing or corrupt files, missing package)."""


class InsufficientMemory(ModelUnavailable):
    """Loading the model would exceed the memory budget, and nothing idle can be unloaded to make room.

    `retry_after` is set when busy models hold the room (it may free up); None when the model
    can never fit.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message, param="model", code="insufficient_memory")
        self.retry_after = retry_after


class QueueFull(DomainError):
    """The model's queue is full; the caller should retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float = 1.0):
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after = retry_after


class Cancelled(DomainError):
    """The caller went away; the work was stopped."""
