"""Field types shared by the wire schemas: strict where OpenAI's are strict.

pydantic's lax mode reads `true` as 1.0, `false` as 0 and `"1.0"` as 1.0; OpenAI answers 400
("expected a number"). A number in a JSON body is a JSON number; in a form, where every value is
a string, a numeric string; never a boolean.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def _finite(value: Any) -> Any:
    """Before the range checks, which would report a form's "nan" or "inf" as out of range."""
    value = _not_bool(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value  # pydantic says what is wrong with it
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[float, BeforeValidator(_finite)]
"""A finite float from a JSON number or a form's numeric string; booleans, `nan` and `inf` are refused."""
Integer = Annotated[int, BeforeValidator(_not_bool)]
"""An int from a JSON number or a form's numeric string; booleans are refused."""
JsonNumber = Annotated[float, Strict(), BeforeValidator(_finite)]
"""A finite float of a JSON body: a JSON number (integer or not); strings, booleans, `NaN` and `Infinity` (which
Python's JSON parser reads) are refused."""


def _json_integer(value: Any) -> Any:
    value = _not_bool(value)
    if isinstance(value, str):
        raise ValueError("must be a JSON number, not a string")
    return value


JsonInteger = Annotated[int, BeforeValidator(_json_integer)]
"""An int of a JSON body: a JSON number without a fraction (`600` or `600.0`); strings and booleans are refused."""
