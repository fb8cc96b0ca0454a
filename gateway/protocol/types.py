"""Field types shared by the wire schemas: strict where OpenAI's are strict.

pydantic's lax mode reads `true` as 1.0, `false` as 0 and `"1.0"` as 1.0; OpenAI answers 400
("expected a number"). A number in a JSON body is a JSON number; in a form, where every value is
a string, a numeric string; never a boolean.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Strict


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
"""A float from a JSON number or a form's numeric string; booleans are refused."""
Integer = Annotated[int, BeforeValidator(_not_bool)]
"""An int from a JSON number or a form's numeric string; booleans are refused."""
JsonNumber = Annotated[float, Strict()]
"""A float of a JSON body: a JSON number (integer or not); strings and booleans are refused."""
