"""One reading of a pydantic validation failure: the field to name, the reason, the error to raise.

Used by the JSON body handler (`gateway/errors.py`), the multipart forms (`protocol/forms.py`) and the
realtime `session.update` (`protocol/realtime.py`), so a bad field reads the same on every surface.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.errors import InvalidRequest

_WHERE = ("body", "query", "path", "form")
JSON_OBJECT = "a JSON object sent with `Content-Type: application/json`"


def validation_problem(errors: Sequence[Any], prefix: tuple[str, ...] = ()) -> InvalidRequest:
    """The 400 for pydantic's `errors()`: the most telling error, named by its dotted field path.

    `param` is the top-level field (`chunking_strategy`), or the whole path under `prefix` (realtime
    events name `session.audio.input.format`); the message names the nested field
    (`chunking_strategy.threshold`) and drops pydantic's "Value error, " prefix.
    """
    if not errors:
        return InvalidRequest("The request is not valid.", code="invalid_value")
    chosen = _most_telling(list(errors))
    path = _field_path(tuple(chosen.get("loc", ())))
    if path is None and not prefix:  # the body as a whole: absent, not JSON, or JSON but not an object
        return _whole_body(chosen)
    named = named_of(prefix, path)
    param = named if prefix else (path.split(".")[0] if path else None)
    if chosen.get("type") == "missing":
        return InvalidRequest(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    if chosen.get("type") == "extra_forbidden":  # OpenAI's words for a parameter the endpoint does not take
        message = f"Unrecognized request argument supplied: {named}."
        return InvalidRequest(message, param=param, code="unknown_parameter")
    reason = str(chosen.get("msg", "invalid")).removeprefix("Value error, ").rstrip(".")
    message = f"Invalid value for '{named}': {reason}." if named else f"{reason}."
    return InvalidRequest(message, param=param or None, code="invalid_value")


def _whole_body(error: dict[str, Any]) -> InvalidRequest:
    """The 400 for a body that is not an object at all (FastAPI hands over the raw bytes when the
    Content-Type is not JSON); never "Missing required parameter: 'None'"."""
    given = error.get("input")
    if error.get("type") == "missing" or given in (None, b"", ""):
        message = f"The request body is missing: send {JSON_OBJECT}."
        return InvalidRequest(message, code="missing_required_parameter")
    if isinstance(given, bytes | bytearray):
        message = f"The request body was not read as JSON: send {JSON_OBJECT}."
        return InvalidRequest(message, code="invalid_content_type")
    message = f"The request body must be {JSON_OBJECT}, not a JSON {_json_kind(given)}."
    return InvalidRequest(message, code="invalid_type")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "value"


def named_of(prefix: tuple[str, ...], path: str | None) -> str:
    """The dotted name of a field under `prefix`."""
    return ".".join((*prefix, path)) if path else ".".join(prefix)


def _most_telling(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """The first error, unless an object failed every branch of a union.

    pydantic reports one error per union branch (`"auto"`, then the `ServerVad` object); for an object
    the object branch's error (`threshold` out of range) is the one that says what is wrong.
    """
    first = errors[0]
    if not isinstance(first.get("input"), dict):
        return first
    top = _field_path(tuple(first.get("loc", ())))
    head = top.split(".")[0] if top else None
    same = [e for e in errors if ((_field_path(tuple(e.get("loc", ()))) or "").split(".")[0] or None) == head]
    return max(same, key=lambda e: len(e.get("loc", ())))


def _field_path(loc: tuple[Any, ...]) -> str | None:
    """`chunking_strategy.threshold`; request parts and union branch tags (`ServerVad`, `literal[...]`) left out."""
    parts = [
        str(p)
        for p in loc
        if p not in _WHERE and not (isinstance(p, str) and (p[:1].isupper() or ("[" in p and not p.endswith("[]"))))
    ]
    return ".".join(parts) or None
