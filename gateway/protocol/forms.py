"""Multipart forms as the OpenAI SDKs send them, parsed into plain dicts for pydantic.

Arrays arrive as repeated `field[]` parts, objects as bracketed keys
(`chunking_strategy[type]=server_vad`); some clients send arrays without brackets or
objects as a JSON string. Files are found by field name, whatever their file name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request

from gateway.protocol.validation import validation_problem
from models.errors import InvalidRequest, PayloadTooLarge

_BRACKETS = re.compile(r"^(?P<name>[^\[\]]+)(?P<keys>(\[[^\[\]]*\])+)$")
FORMS_KEY = "gateway.forms"
"""Where a request's parsed forms are kept in its ASGI scope, for `FormsMiddleware` to close."""
MAX_JSON_DEPTH = 8
"""How deeply an object field sent as a JSON string may nest (`chunking_strategy` needs 1)."""
MAX_JSON_BYTES = 16 * 1024
MAX_TEXT_FILE_PART = 1024 * 1024
"""A text field sent as a file part (some clients do) may be this long, as a text part may."""


def form_fields(
    form: FormData, *, files: tuple[str, ...], lists: tuple[str, ...] = (), known: Collection[str] = ()
) -> tuple[dict[str, Any], dict[str, UploadFile]]:
    """Split a form into scalar/array/object values and the named file uploads.

    Only the fields in `lists` may repeat (`include[]=a&include[]=b`, or without brackets);
    any other field sent twice is a 400 naming it, never a silent choice between the two.
    An empty text field counts as absent, as clients that send every field mean it; so does an
    empty item of a list.
    With `known` (the request model's fields), any other field is a 400 `unknown_parameter`,
    whatever shape it was sent in.
    """
    values: dict[str, Any] = {}
    uploads: dict[str, UploadFile] = {}
    for key, value in form.multi_items():
        if key in files:
            if not isinstance(value, UploadFile):
                raise InvalidRequest(f"`{key}` must be a file upload.", param=key, code="invalid_value")
            if key in uploads:
                raise _duplicate(key)
            uploads[key] = value
            continue
        if isinstance(value, UploadFile):
            # A text field sent as a file part (some clients do): read it as text, as long as a text part.
            raw = value.file.read(MAX_TEXT_FILE_PART + 1)
            if len(raw) > MAX_TEXT_FILE_PART:
                raise InvalidRequest(
                    f"`{key}` is a text field; at most {MAX_TEXT_FILE_PART} bytes.", param=key, code="invalid_value"
                )
            value = raw.decode("utf-8", errors="replace")
        match = _BRACKETS.match(key)
        name = key if match is None else match.group("name")
        if known and name not in known and name not in files:
            raise unknown_parameter(name)
        keys = [] if match is None else re.findall(r"\[([^\[\]]*)\]", match.group("keys"))
        if name in lists:
            if keys not in ([], [""]):
                raise InvalidRequest(f"`{name}` is a list, not an object.", param=name, code="invalid_value")
            if value != "":  # an empty item (`include[]=`) adds nothing, like an empty optional field
                values.setdefault(name, []).append(value)
            continue
        if value == "":
            continue  # an empty optional field (or part of an object) means "not set"
        if not keys:
            if name in values:
                raise _duplicate(name)
            values[name] = value
            continue
        if "" in keys:
            raise InvalidRequest(f"`{name}` takes one value, not a list.", param=name, code="invalid_value")
        target = values.setdefault(name, {})
        for sub in keys[:-1]:
            if not isinstance(target, dict):
                break
            target = target.setdefault(sub, {})
        if not isinstance(target, dict):
            message = f"`{name}` is given both as a value and as an object."
            raise InvalidRequest(message, param=name, code="invalid_value")
        if keys[-1] in target:
            raise _duplicate(key, param=name)
        target[keys[-1]] = value
    return values, uploads


def unknown_parameter(name: str) -> InvalidRequest:
    """OpenAI's answer to a parameter the endpoint does not take."""
    return InvalidRequest(f"Unrecognized request argument supplied: {name}.", param=name, code="unknown_parameter")


def _duplicate(field: str, *, param: str | None = None) -> InvalidRequest:
    return InvalidRequest(
        f"`{field}` is given more than once; it takes one value.", param=param or field, code="duplicate_parameter"
    )


def single_valued_query(request: Request) -> None:
    """A dependency for routes whose query parameters each take one value: `?limit=1&limit=5` is a
    400 naming `limit`, as a form field or JSON key given twice is, not whichever value FastAPI keeps."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise _duplicate(name)
        seen.add(name)


def json_object(values: dict[str, Any], name: str) -> None:
    """Accept an object field sent as a JSON string (`{"type": "server_vad"}`).

    Whatever the parser makes of it (bad syntax, nesting too deep for its recursion, a number
    too long to convert), a string that is not a small JSON object is a 400 naming the field.
    """
    raw = values.get(name)
    if not isinstance(raw, str) or not raw.strip().startswith(("{", "[")):
        return
    if len(raw) > MAX_JSON_BYTES or _depth(raw) > MAX_JSON_DEPTH:
        raise InvalidRequest(
            f"`{name}` is too large or nests too deeply (at most {MAX_JSON_DEPTH} levels).",
            param=name,
            code="invalid_value",
        )
    try:
        values[name] = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not a JSON object"
        raise InvalidRequest(f"`{name}` is not valid JSON: {reason}.", param=name, code="invalid_value") from exc


def _depth(text: str) -> int:
    """The deepest bracket nesting of a JSON text (brackets inside strings count too: an upper bound)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def validate(model: type[BaseModel], values: dict[str, Any]) -> Any:
    """pydantic validation whose first failure becomes a 400 naming the field."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_problem(exc.errors(include_url=False)) from exc


async def read_form(request: Any, *, max_fields: int = 200, max_part_size: int = 1024 * 1024) -> FormData:
    """Parse a multipart or urlencoded body; malformed bodies are a 400."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise InvalidRequest(
            "This endpoint takes multipart/form-data (a file upload).", param=None, code="invalid_content_type"
        )
    try:
        form: FormData = await request.form(max_files=8, max_fields=max_fields, max_part_size=max_part_size)
        request.scope.setdefault(FORMS_KEY, []).append(form)  # closed when the request ends (middleware/forms.py)
        return form
    except (InvalidRequest, PayloadTooLarge):
        raise
    except Exception as exc:  # starlette's own errors for malformed multipart
        reason = str(getattr(exc, "detail", exc)).rstrip(".")  # starlette's HTTPException says "400: ..."
        raise InvalidRequest(f"Could not parse the multipart body: {reason}.", code="invalid_multipart") from exc


def multipart_openapi(model: type[BaseModel], file_description: str, file_field: str = "file") -> dict[str, Any]:
    """`openapi_extra` for a route that parses its multipart form itself."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.rsplit("/", 1)[1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    properties = {file_field: {"type": "string", "format": "binary", "description": file_description}}
    properties.update(inline(schema["properties"]))
    body = {"type": "object", "required": [file_field, *schema.get("required", [])], "properties": properties}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": body}}}}
