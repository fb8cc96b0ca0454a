"""Wire schemas of /v1/models."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class Model(BaseModel):
    """A model id this server answers to (an alias is a model of its own)."""

    id: str
    object: Literal["model"] = "model"
    created: int = Field(description="Unix time the server registered it.")
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]
