"""Field types shared by the wire schemas: strict where OpenAI's are strict.

pydantic's lax mode reads `true` as 1.0, `false` as 0 and `"1.0"` as 1.0; OpenAI answers 400
("expected a number"). A number in a JSON body is a JSON number; in a form, where every value is
a string, a numeric string; never a boolean.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
"""A form's number: plain ASCII decimal digits with an optional sign and point (`0.5`, `-1`, `.5`)."""


def _form_number(value: Any) -> Any:
    """A form's numeric string read strictly: Python's `float()` also takes `0_5` (as 5), `1e0`,
    ` 0.5 ` and Unicode digits, and pydantic `0x1`-like forms; a client sending them meant something else."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError(f"must be a plain decimal number such as `0.5`, not `{value}`")
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


Number = Annotated[float, BeforeValidator(lambda value: _form_number(_finite(value)))]
"""A finite float from a JSON number or a form's numeric string (a plain decimal number); booleans, `nan`
and `inf` are refused."""
Integer = Annotated[int, BeforeValidator(lambda value: _form_number(_not_bool(value)))]
"""An int from a JSON number or a form's numeric string (plain decimal digits); booleans are refused."""
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
