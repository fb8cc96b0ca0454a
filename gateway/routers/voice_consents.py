"""/v1/audio/voice_consents: upload (verified by transcription), retrieve, rename, delete, list.

A consent is accepted only if the gateway's own Whisper hears the approved phrase for its
language in the recording (`models.consent`). Every object belongs to the caller's tenant.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from gateway.languages import normalize_language
from gateway.middleware import request_tenant
from gateway.protocol.forms import form_fields, read_form, validate
from gateway.protocol.json_body import StrictJsonRoute
from gateway.protocol.transcriptions import multipart_openapi
from gateway.protocol.voice_consents import (
    VoiceConsent,
    VoiceConsentCreate,
    VoiceConsentDeleted,
    VoiceConsentList,
    VoiceConsentUpdate,
)
from gateway.services import Services
from gateway.storage import ConsentRecord, NewRecording
from gateway.uploads import require_upload
from models.consent import Verdict
from models.errors import InvalidRequest
from models.options import TranscribeOptions
from models.types import SAMPLE_RATE

router = APIRouter(tags=["voice consents"], route_class=StrictJsonRoute)


def render(record: ConsentRecord) -> VoiceConsent:
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
async def create_voice_consent(request: Request) -> Any:
    services: Services = request.app.state.services
    section = services.settings.consents
    form = await read_form(request, max_fields=10)
    values, uploads = form_fields(form, files=("recording",), known=VoiceConsentCreate.model_fields)
    body: VoiceConsentCreate = validate(VoiceConsentCreate, values)
    phrase_language = _phrase_language(services, body.language)
    upload = require_upload(uploads, "recording", section.max_recording_bytes)
    data = await upload.read()
    samples = await services.decoder.decode(data, param="recording", max_seconds=section.max_recording_seconds)
    verdict = await _verify(services, samples, phrase_language)
    if not verdict.accepted:
        raise InvalidRequest(
            f"The recording does not contain the approved consent phrase for '{body.language}': {verdict.reason}. "
            f'Heard: "{verdict.heard}". Expected: "{verdict.expected}".',
            param="recording",
            code="consent_phrase_mismatch",
        )
    record = await services.store.run(
        lambda: services.store.create_consent(
            request_tenant(request),
            name=body.name,
            language=body.language,
            phrase_language=phrase_language,
            heard=verdict.heard,
            phrase=verdict.expected,
            error_rate=verdict.error_rate,
            recording=NewRecording(data=data, duration=len(samples) / SAMPLE_RATE),
        )
    )
    return render(record)


@router.get("/v1/audio/voice_consents", response_model=VoiceConsentList, summary="List consent recordings")
async def list_voice_consents(
    request: Request,
    after: str | None = Query(None, description="The id of the last consent of the previous page."),
    limit: int = Query(20, ge=1, le=100, description="Consents per page."),
) -> Any:
    services: Services = request.app.state.services
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
async def retrieve_voice_consent(consent_id: str, request: Request) -> Any:
    services: Services = request.app.state.services
    return render(await services.store.run(services.store.get_consent, request_tenant(request), consent_id))


@router.post("/v1/audio/voice_consents/{consent_id}", response_model=VoiceConsent, summary="Rename a consent")
async def update_voice_consent(consent_id: str, body: VoiceConsentUpdate, request: Request) -> Any:
    services: Services = request.app.state.services
    tenant = request_tenant(request)
    return render(await services.store.run(services.store.rename_consent, tenant, consent_id, body.name))


@router.delete(
    "/v1/audio/voice_consents/{consent_id}",
    response_model=VoiceConsentDeleted,
    summary="Delete a consent and its recording (409 while voices use it)",
)
async def delete_voice_consent(consent_id: str, request: Request) -> Any:
    services: Services = request.app.state.services
    await services.store.run(services.store.delete_consent, request_tenant(request), consent_id)
    return VoiceConsentDeleted(id=consent_id)


def _phrase_language(services: Services, language: str) -> str:
    """The ISO-639-1 code whose phrases apply to a BCP 47 tag, or a 400 naming the supported ones."""
    code = normalize_language(language)
    supported = services.consent_phrases.languages
    if code is None or code not in supported:
        raise InvalidRequest(
            f"Invalid value for 'language': no consent phrase is configured for '{language}'. "
            f"Supported languages: {', '.join(supported)}.",
            param="language",
            code="unsupported_language",
        )
    return code


async def _verify(services: Services, samples: Any, language: str) -> Verdict:
    """Transcribe with the configured Whisper model in the declared language, then match the phrase."""
    entry = services.registry.resolve(services.settings.consents.transcription_model, "transcription")
    # a person waits for the check: it goes before file transcriptions (429 at once when the queue is full)
    ticket = await services.registry.admit(entry, latency="interactive")
    options = TranscribeOptions(
        language=language,
        beam_size=services.settings.transcription.beam_size,
        prompt=services.consent_phrases.prompts.get(language),
    )
    try:
        entry.worker.check_options(options)
    except BaseException:
        ticket.release()
        raise
    transcript = await entry.queue.run(entry.worker.transcribe, samples, options, ticket=ticket)
    return services.consent_phrases.verify(transcript.text, language)
