"""/v1/audio/voices: list the voices a speech request may name (GET), create a custom voice backed
by a consent (POST), delete one (DELETE).

A voice is created only if the sample's speaker is the consent recording's speaker (speaker
embeddings, `models.voice_match`). It is then spoken by the nearest installed Piper voice,
chosen once here, or by the Piper voice an operator pinned it to (`custom_voices.pins`);
gateway/serving/voices.py turns a request's `voice` into that Piper voice.
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request

from gateway.protocol.forms import form_fields, multipart_openapi, read_form, validate
from gateway.protocol.speech import VoiceList
from gateway.protocol.voices import Voice, VoiceCreate, VoiceDeleted
from gateway.services import ServicesDep
from gateway.serving import voices
from gateway.storage import ConsentRecord, NewRecording, VoiceRecord
from gateway.tenants import request_tenant
from gateway.uploads import require_upload
from models.errors import InvalidRequest, NotFound
from models.types import SAMPLE_RATE
from models.voice_match import Assessment, from_bytes, to_bytes

router = APIRouter(tags=["voices"])


def render(record: VoiceRecord) -> Voice:
    """A stored custom voice as the API shows it."""
    return Voice(id=record.id, name=record.name, created_at=record.created_at)


@router.get("/v1/audio/voices", response_model=VoiceList, summary="List voices (audio-gateway extension)")
async def list_voices(request: Request, services: ServicesDep, model: str | None = None) -> VoiceList:
    """The built-in voice names and the caller's custom voices, with the Piper voice each is spoken with."""
    return VoiceList(data=await voices.list_voices(services, request_tenant(request), model))


@router.post(
    "/v1/audio/voices",
    openapi_extra=multipart_openapi(
        VoiceCreate, "A sample of the consenting speaker's voice (10 MiB and 30 s at most).", "audio_sample"
    ),
    response_model=Voice,
    summary="Create a custom voice from a sample of a consenting speaker",
)
async def create_voice(request: Request, services: ServicesDep) -> Voice:
    section = services.settings.custom_voices
    store, tenant = services.store, request_tenant(request)
    form = await read_form(request, max_fields=10)
    values, uploads = form_fields(form, files=("audio_sample",))
    if values.get("type") == "prompt":
        raise InvalidRequest(
            "Only `audio_sample` voices can be created on this server (no model here designs a voice from a prompt).",
            param="type",
            code="invalid_value",
        )
    body: VoiceCreate = validate(VoiceCreate, values)
    upload = require_upload(uploads, "audio_sample", section.max_sample_bytes)
    try:
        consent: ConsentRecord = await store.run(store.get_consent, tenant, body.consent)
    except NotFound as exc:
        raise NotFound(exc.message, param="consent", code=exc.code) from exc
    if await store.run(store.count_voices, tenant) >= section.max_per_tenant:  # checked again when stored
        raise InvalidRequest(
            f"You already have {section.max_per_tenant} custom voices, the maximum; delete one first.",
            code="voice_limit_exceeded",
        )
    data = await upload.read()
    samples = await services.decoder.decode(data, param="audio_sample", max_seconds=section.max_sample_seconds)
    consent_samples = None
    if consent.speaker_embedding is None:
        recording = await store.run(store.recording, tenant, consent.recording_id)
        consent_samples = await services.decoder.decode(recording, param="consent")
    piper = await voices.speech_worker(services)
    assessment: Assessment = await services.voice_queue.run(
        partial(
            services.voice_matcher.assess,
            samples,
            piper,
            consent_audio=consent_samples,
            consent_vector=from_bytes(consent.speaker_embedding) if consent.speaker_embedding else None,
        )
    )
    if consent.speaker_embedding is None:
        await store.run(store.set_consent_embedding, tenant, consent.id, to_bytes(assessment.consent_vector))
    if not assessment.same_speaker:
        raise InvalidRequest(
            f"The voice in `audio_sample` is not the voice of consent '{consent.id}' "
            f"(speaker similarity {assessment.similarity:.2f}; at least {services.voice_matcher.threshold:.2f} "
            "is needed). Record the sample with the person who recorded the consent.",
            param="audio_sample",
            code="voice_mismatch",
        )
    record = await store.run(
        lambda: store.create_voice(
            tenant,
            name=body.name,
            consent_id=consent.id,
            sample=NewRecording(data=data, duration=len(samples) / SAMPLE_RATE),
            max_voices=section.max_per_tenant,
            similarity=assessment.similarity,
            speaker_embedding=to_bytes(assessment.sample_vector),
            piper_voice=assessment.nearest.voice if assessment.nearest else None,
        )
    )
    return render(record)


@router.delete("/v1/audio/voices/{voice_id}", response_model=VoiceDeleted, summary="Delete a custom voice")
async def delete_voice(voice_id: str, request: Request, services: ServicesDep) -> VoiceDeleted:
    await services.store.run(services.store.delete_voice, request_tenant(request), voice_id)
    return VoiceDeleted(id=voice_id)
