"""Custom voices at speaking time: which Piper voice speaks a `{"id": "voice_..."}`."""

from __future__ import annotations

from typing import Any

from gateway.services import Services
from gateway.storage import VoiceRecord
from models.errors import ModelUnavailable, NotFound
from models.voice_match import from_bytes


async def speech_worker(services: Services) -> Any:
    """The (loaded) Piper worker whose voices custom voices are spoken with."""
    for entry in services.registry.entries.values():
        if entry.kind == "speech":
            await services.registry.ensure_loaded(entry)
            return entry.worker
    raise ModelUnavailable("No text-to-speech model is configured, so custom voices cannot be used.")


async def custom_piper_voice(services: Services, tenant: str, voice_id: str) -> str:
    """The Piper voice that speaks the tenant's custom voice `voice_id` (404 naming `voice`)."""
    try:
        record: VoiceRecord = await services.store.run(services.store.get_voice, tenant, voice_id)
    except NotFound as exc:
        raise NotFound(exc.message, param="voice", code=exc.code) from exc
    return await piper_voice_of(services, record)


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


def _installed(piper: Any, voice: str) -> bool:
    try:
        piper.resolve(voice)
        return True
    except NotFound:
        return False
