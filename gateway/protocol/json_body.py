"""JSON request bodies read strictly: a key given twice is a 400 naming it.

Python's `json.loads` keeps the last of two equal keys without a word, so
`{"speed": 1, "speed": true}` would be read as whichever came last. Routes whose body is
JSON use `StrictJsonRoute`; FastAPI turns what the parser raises into a 400 (gateway/errors.py
answers the InvalidRequest raised here as itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from models.errors import InvalidRequest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise InvalidRequest(
                f"`{key}` is given more than once in the JSON body; it takes one value.",
                param=key,
                code="duplicate_parameter",
            )
        result[key] = value
    return result


def loads_strict(body: bytes | str) -> Any:
    """`json.loads` that refuses an object with a key given twice."""
    return json.loads(body, object_pairs_hook=_no_duplicates)


class StrictJsonRequest(Request):
    """A request whose `json()` refuses duplicated keys."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_strict(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """An APIRoute that reads its JSON body with `StrictJsonRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
