"""Field types shared by the wire schemas: strict where OpenAI's are strict.

pydantic's lax mode reads `true` as 1.0 and `false` as 0; OpenAI answers 400. A number
field takes a JSON number, or a numeric string from a form, never a boolean.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
"""A float from a JSON number or a form's numeric string; booleans are refused."""
Integer = Annotated[int, BeforeValidator(_not_bool)]
"""An int from a JSON number or a form's numeric string; booleans are refused."""
