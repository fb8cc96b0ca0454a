"""Consent recordings: decode, then hear the approved phrase with the gateway's own Whisper.

A consent is accepted only if the configured transcription model, told the declared
language, hears that language's approved phrase (`models.consent`). A person waits for
the check, so it runs as interactive work, before file transcriptions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from starlette.datastructures import UploadFile

from gateway.languages import normalize_language
from gateway.services import Services
from models.consent import Verdict
from models.errors import InvalidRequest
from models.options import TranscribeOptions
from models.types import SAMPLE_RATE


@dataclass(frozen=True)
class HeardConsent:
    """A recording in which the approved phrase was heard."""

    data: bytes  # the upload as sent
    seconds: float
    verdict: Verdict


async def hear(services: Services, language: str, phrase_language: str, upload: UploadFile) -> HeardConsent:
    """Decode the recording and check it holds the phrase of `phrase_language` (`phrase_language_of`
    the declared `language`); 400 `consent_phrase_mismatch` if not."""
    section = services.settings.consents
    data = await upload.read()
    samples = await services.decoder.decode(data, param="recording", max_seconds=section.max_recording_seconds)
    verdict = await verify(services, samples, phrase_language)
    if not verdict.accepted:
        raise InvalidRequest(
            f"The recording does not contain the approved consent phrase for '{language}': {verdict.reason}. "
            f'Heard: "{verdict.heard}". Expected: "{verdict.expected}".',
            param="recording",
            code="consent_phrase_mismatch",
        )
    return HeardConsent(data=data, seconds=len(samples) / SAMPLE_RATE, verdict=verdict)


def phrase_language_of(services: Services, language: str) -> str:
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


async def verify(services: Services, samples: np.ndarray, language: str) -> Verdict:
    """Transcribe with the configured Whisper model in the declared language, then match the phrase."""
    entry = services.registry.resolve(services.settings.consents.transcription_model, "transcription")
    options = TranscribeOptions(
        language=language,
        beam_size=services.settings.transcription.beam_size,
        prompt=services.consent_phrases.prompts.get(language),
    )
    # a person waits for the check: it goes before file transcriptions (429 at once when the queue is full)
    with await services.registry.admit(entry, latency="interactive") as ticket:
        entry.worker.check_options(options)
        transcript = await entry.queue.run(entry.worker.transcribe, samples, options, ticket=ticket)
    return services.consent_phrases.verify(transcript.text, language)
