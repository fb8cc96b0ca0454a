"""Voices: which Piper voice speaks a request's `voice`, and the list GET /v1/audio/voices shows.

A built-in name (`alloy`, ...) maps to a Piper voice through the speech settings (per model
overrides first); a custom voice `{"id": "voice_..."}` is spoken by the Piper voice an
operator pinned it to, else the one chosen when it was created, else (that voice no longer
installed) the nearest installed one by speaker embedding.
"""

from __future__ import annotations

from typing import Literal

from gateway.protocol.speech import VoiceEntry, VoiceId
from gateway.services import Services
from gateway.storage import VoiceRecord
from models.errors import InvalidRequest, ModelUnavailable, NotFound
from models.voice_match import from_bytes
from models.workers import Synthesizer


async def speech_worker(services: Services) -> Synthesizer:
    """The (loaded) Piper worker whose voices custom voices are spoken with."""
    entry = services.registry.first("speech")
    if entry is None:
        raise ModelUnavailable("No text-to-speech model is configured, so custom voices cannot be used.")
    await services.registry.ensure_loaded(entry)
    return entry.worker


def voice_map(services: Services, model: str | None) -> dict[str, str]:
    """Built-in voice names -> Piper voice ids for a speech model (its overrides over the defaults)."""
    section = services.settings.speech
    overrides = section.models[model].voices if model in section.models else {}
    return {**section.voices, **overrides}


async def piper_voice(services: Services, tenant: str, voice: str | VoiceId, model: str) -> str:
    """The Piper voice id a request's `voice` stands for: a built-in name, or the tenant's custom voice
    (400 or 404 naming `voice`)."""
    if isinstance(voice, VoiceId):
        try:
            record: VoiceRecord = await services.store.run(services.store.get_voice, tenant, voice.id)
        except NotFound as exc:
            raise NotFound(exc.message, param="voice", code=exc.code) from exc
        return await piper_voice_of(services, record)
    voices = voice_map(services, model)
    if voice not in voices:
        raise InvalidRequest(
            f"Invalid value for 'voice': `{voice}`. Supported voices are: {', '.join(voices)}.",
            param="voice",
            code="invalid_value",
        )
    return voices[voice]


async def piper_voice_of(services: Services, record: VoiceRecord) -> str:
    """A pin from the config, else the Piper voice chosen at creation (or pinned in the store).

    A chosen Piper voice that is no longer installed is replaced by the nearest installed one.
    """
    pinned = services.settings.custom_voices.pins.get(record.id)
    if pinned:
        return pinned
    piper = await speech_worker(services)
    if record.piper_voice and _installed(piper, record.piper_voice):
        return record.piper_voice
    if record.speaker_embedding is None:
        raise NotFound(f"Voice `{record.id}` has no Piper voice to speak with.", param="voice", code="voice_not_found")
    vector = from_bytes(record.speaker_embedding)
    nearest = await services.voice_queue.run(services.voice_matcher.nearest, vector, piper)
    return nearest.voice


async def list_voices(services: Services, tenant: str, model: str | None) -> list[VoiceEntry]:
    """The built-in voice names and the tenant's custom voices, with the Piper voice each is spoken with."""
    if model is not None:
        services.registry.resolve(model, "speech")
    entry = services.registry.first("speech")
    loaded = entry.worker if entry is not None and entry.loaded else None
    languages = {v.name: v.language for v in loaded.voices()} if loaded is not None else {}

    def listed(id_: str, name: str, type_: Literal["builtin", "audio_sample"], target: str) -> VoiceEntry:
        return VoiceEntry(
            id=id_, name=name, type=type_, piper_voice=target, language=languages.get(target.partition(":")[0])
        )

    entries = [listed(name, name, "builtin", target) for name, target in voice_map(services, model).items()]
    for record in await services.store.run(services.store.list_voices, tenant):
        entries.append(listed(record.id, record.name, "audio_sample", await piper_voice_of(services, record)))
    return entries


def _installed(piper: Synthesizer, voice: str) -> bool:
    try:
        piper.resolve(voice)
        return True
    except NotFound:
        return False
