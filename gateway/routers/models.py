"""GET /v1/models and /v1/models/{id}: what this server serves, aliases included."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.protocol.models import Model, ModelList
from gateway.services import ServicesDep
from gateway.serving.registry import ServedModel

router = APIRouter(tags=["models"])


def _model(served: ServedModel) -> Model:
    """A public model id as OpenAI's model object."""
    return Model(id=served.id, created=served.created, owned_by=served.owned_by)


@router.get("/v1/models", response_model=ModelList)
async def list_models(services: ServicesDep) -> ModelList:
    """Every public model id this server serves, aliases included."""
    return ModelList(data=[_model(s) for s in services.registry.served.values()])


@router.get("/v1/models/{model_id:path}", response_model=Model)
async def retrieve_model(model_id: str, services: ServicesDep) -> Model:
    """One served model id, or 404 `model_not_found`."""
    return _model(services.registry.get_served(model_id))
