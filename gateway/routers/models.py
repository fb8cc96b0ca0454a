"""GET /v1/models and /v1/models/{id}: what this server serves, aliases included."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from gateway.protocol.models import Model, ModelList
from gateway.services import Services
from models.registry import ServedModel

router = APIRouter(tags=["models"])


def _model(served: ServedModel) -> Model:
    return Model(id=served.id, created=served.created, owned_by=served.owned_by)


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> Any:
    services: Services = request.app.state.services
    return ModelList(data=[_model(s) for s in services.registry.served.values()])


@router.get("/v1/models/{model_id:path}", response_model=Model)
async def retrieve_model(model_id: str, request: Request) -> Any:
    services: Services = request.app.state.services
    return _model(services.registry.get_served(model_id))
