"""Multipart forms as the OpenAI SDKs send them, parsed into plain dicts for pydantic.

Arrays arrive as repeated `field[]` parts, objects as bracketed keys
(`chunking_strategy[type]=server_vad`); some clients send arrays without brackets or
objects as a JSON string. Files are found by field name, whatever their file name.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from models.errors import InvalidRequest, PayloadTooLarge

_BRACKETS = re.compile(r"^(?P<name>[^\[\]]+)(?P<keys>(\[[^\[\]]*\])+)$")


def form_fields(form: FormData, *, files: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, UploadFile]]:
    """Split a form into scalar/array/object values and the named file uploads."""
    values: dict[str, Any] = {}
    uploads: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if key in files:
            if not isinstance(value, UploadFile):
                raise InvalidRequest(f"`{key}` must be a file upload.", param=key, code="invalid_value")
            uploads[key] = value
            continue
        if isinstance(value, UploadFile):
            # A text field sent as a file part (some clients do): read it as text.
            value = value.file.read().decode("utf-8", errors="replace")
        match = _BRACKETS.match(key)
        if match is None:
            name = key
            if name in values:
                existing = values[name]
                values[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
            else:
                values[name] = value
            continue
        name = match.group("name")
        keys = re.findall(r"\[([^\[\]]*)\]", match.group("keys"))
        if keys == [""]:
            existing = values.get(name)
            values[name] = [*existing, value] if isinstance(existing, list) else ([existing, value] if existing is not None else [value])
        else:
            target = values.setdefault(name, {})
            if not isinstance(target, dict):
                raise InvalidRequest(f"`{name}` is given both as a value and as an object.", param=name)
            for sub in keys[:-1]:
                target = target.setdefault(sub, {})
            target[keys[-1]] = value
    return values, uploads


def as_list(values: dict[str, Any], name: str) -> None:
    """Make `name` a list even when a single value was sent without brackets."""
    if name in values and not isinstance(values[name], list):
        values[name] = [values[name]]


def json_object(values: dict[str, Any], name: str) -> None:
    """Accept an object field sent as a JSON string (`{"type": "server_vad"}`)."""
    raw = values.get(name)
    if isinstance(raw, str) and raw.strip().startswith("{"):
        try:
            values[name] = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"`{name}` is not valid JSON: {exc.msg}.", param=name) from exc


def validate(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """pydantic validation whose first failure becomes a 400 naming the field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        param = loc[0] if loc else None
        if first.get("type") == "missing":
            message = f"Missing required parameter: '{param}'."
            code = "missing_required_parameter"
        else:
            message = f"Invalid value for '{'.'.join(loc)}': {first.get('msg')}."
            code = "invalid_value"
        raise InvalidRequest(message, param=param, code=code) from exc


async def read_form(request: Any, *, max_fields: int = 200, max_part_size: int = 1024 * 1024) -> FormData:
    """Parse a multipart or urlencoded body; malformed bodies are a 400."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise InvalidRequest(
            "This endpoint takes multipart/form-data (a file upload).", param=None, code="invalid_content_type"
        )
    try:
        return await request.form(max_files=8, max_fields=max_fields, max_part_size=max_part_size)
    except (InvalidRequest, PayloadTooLarge):
        raise
    except Exception as exc:  # starlette's own errors for malformed multipart
        raise InvalidRequest(f"Could not parse the multipart body: {exc}.", code="invalid_multipart") from exc
