"""OpenAI's published consent phrases in other languages, spoken by espeak-ng, through the official SDK.

Only the languages where espeak-ng's voice is clear enough for Whisper base to hear the phrase
(bench/consent_calibration.py, README "Calibration"); the others are covered on text in
tests/unit/test_consent.py.
"""

from __future__ import annotations

import openai
import pytest

from models.consent_phrases import DEFAULT_PHRASES
from tests.helpers import espeak_speech

# language -> (espeak-ng voice, an impostor: the phrase's own beginning turned into a refusal)
SPOKEN = {
    "es": ("es-419+f2", "No soy el propietario de esta voz y no doy mi consentimiento."),
    "it": ("it", "Non sono il proprietario di questa voce e non acconsento."),
    "nl": ("nl", "Ik ben niet de eigenaar van deze stem en ik geef geen toestemming."),
}


@pytest.mark.parametrize("language", sorted(SPOKEN))
def test_published_phrase_is_accepted_and_an_impostor_refused(client, language):
    voice, impostor = SPOKEN[language]
    phrase = DEFAULT_PHRASES[language][0].replace("{organization}", "OpenAI")
    consent = client.audio.voice_consents.create(
        name=f"espeak {language}", language=language, recording=("c.flac", espeak_speech(phrase, voice=voice))
    )
    assert consent.language == language
    client.audio.voice_consents.delete(consent.id)
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.voice_consents.create(
            name="impostor", language=language, recording=("i.flac", espeak_speech(impostor, voice=voice))
        )
    assert caught.value.body["code"] == "consent_phrase_mismatch" and caught.value.body["param"] == "recording"
