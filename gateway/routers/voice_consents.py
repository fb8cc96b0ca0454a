"""/v1/audio/voice_consents: upload (verified by transcription), retrieve, rename, delete, list.

A consent is accepted only if the gateway's own Whisper hears the approved phrase for its
language in the recording (gateway/serving/consent.py). Every object belongs to the caller's tenant.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from gateway.protocol.forms import form_fields, multipart_openapi, read_form, single_valued_query, validate
from gateway.protocol.json_body import StrictJsonRoute
from gateway.protocol.voice_consents import (
    VoiceConsent,
    VoiceConsentCreate,
    VoiceConsentDeleted,
    VoiceConsentList,
    VoiceConsentUpdate,
)
from gateway.services import ServicesDep
from gateway.serving import consent
from gateway.storage import ConsentRecord, NewRecording
from gateway.tenants import request_tenant
from gateway.uploads import require_upload

router = APIRouter(tags=["voice consents"], route_class=StrictJsonRoute)


def render(record: ConsentRecord) -> VoiceConsent:
    """A stored consent as the API shows it."""
    return VoiceConsent(id=record.id, name=record.name, language=record.language, created_at=record.created_at)


@router.post(
    "/v1/audio/voice_consents",
    openapi_extra=multipart_openapi(
        VoiceConsentCreate,
        "A recording of the voice's owner speaking the approved phrase (10 MiB at most).",
        "recording",
    ),
    response_model=VoiceConsent,
    summary="Upload a consent recording (checked for the approved phrase)",
)
async def create_voice_consent(request: Request, services: ServicesDep) -> VoiceConsent:
    form = await read_form(request, max_fields=10)
    values, uploads = form_fields(form, files=("recording",), known=VoiceConsentCreate.model_fields)
    body: VoiceConsentCreate = validate(VoiceConsentCreate, values)
    phrase_language = consent.phrase_language_of(services, body.language)
    upload = require_upload(uploads, "recording", services.settings.consents.max_recording_bytes)
    heard = await consent.hear(services, body.language, phrase_language, upload)
    record = await services.store.run(
        lambda: services.store.create_consent(
            request_tenant(request),
            name=body.name,
            language=body.language,
            phrase_language=phrase_language,
            heard=heard.verdict.heard,
            phrase=heard.verdict.expected,
            error_rate=heard.verdict.error_rate,
            recording=NewRecording(data=heard.data, duration=heard.seconds),
        )
    )
    return render(record)


@router.get(
    "/v1/audio/voice_consents",
    response_model=VoiceConsentList,
    summary="List consent recordings",
    dependencies=[Depends(single_valued_query)],
)
async def list_voice_consents(
    request: Request,
    services: ServicesDep,
    after: str | None = Query(None, description="The id of the last consent of the previous page."),
    limit: int = Query(20, ge=1, le=100, description="Consents per page."),
) -> VoiceConsentList:
    page = await services.store.run(
        lambda: services.store.list_consents(request_tenant(request), after=after, limit=limit)
    )
    data = [render(r) for r in page.items]
    return VoiceConsentList(
        data=data,
        first_id=data[0].id if data else None,
        last_id=data[-1].id if data else None,
        has_more=page.has_more,
    )


@router.get("/v1/audio/voice_consents/{consent_id}", response_model=VoiceConsent, summary="Retrieve a consent")
async def retrieve_voice_consent(consent_id: str, request: Request, services: ServicesDep) -> VoiceConsent:
    return render(await services.store.run(services.store.get_consent, request_tenant(request), consent_id))


@router.post("/v1/audio/voice_consents/{consent_id}", response_model=VoiceConsent, summary="Rename a consent")
async def update_voice_consent(
    consent_id: str, body: VoiceConsentUpdate, request: Request, services: ServicesDep
) -> VoiceConsent:
    tenant = request_tenant(request)
    return render(await services.store.run(services.store.rename_consent, tenant, consent_id, body.name))


@router.delete(
    "/v1/audio/voice_consents/{consent_id}",
    response_model=VoiceConsentDeleted,
    summary="Delete a consent and its recording (409 while voices use it)",
)
async def delete_voice_consent(consent_id: str, request: Request, services: ServicesDep) -> VoiceConsentDeleted:
    await services.store.run(services.store.delete_consent, request_tenant(request), consent_id)
    return VoiceConsentDeleted(id=consent_id)
