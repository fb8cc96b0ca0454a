"""OpenAI's published consent phrases in other languages, spoken, through the official SDK.

es, it, nl: espeak-ng's voice is clear enough for Whisper base. ja, ko, pt, ru, uk, vi, zh, where
espeak-ng's own voice is not understood: the neural voice Kokoro-82M reading espeak-ng's (or
misaki's) phonemes (samples/consent_voices.py); its Vietnamese passes only with tones compared
loosely (models/consent.py `fold`), by a small margin. Each recording is made once per module; the
measured transcripts are in README ("Calibration").
"""

from __future__ import annotations

from functools import cache

import numpy as np
import openai
import pytest

from models.consent_phrases import DEFAULT_PHRASES
from samples.consent_voices import reading
from tests.helpers import encode, espeak_speech

# language -> (espeak-ng voice, an impostor: the phrase's own beginning turned into a refusal)
SPOKEN = {
    "es": ("es-419+f2", "No soy el propietario de esta voz y no doy mi consentimiento."),
    "it": ("it", "Non sono il proprietario di questa voce e non acconsento."),
    "nl": ("nl", "Ik ben niet de eigenaar van deze stem en ik geef geen toestemming."),
}

# language -> an impostor spoken by Kokoro: the phrase's beginning turned into a refusal (ja: its kana reading)
# (hi is not here: Whisper base does not hear OpenAI in it from this voice, README)
KOKORO_IMPOSTORS = {
    "ja": "わたしは このおんせいの しょゆうしゃでは なく、しょうにん しません。",
    "ko": "나는 이 음성의 소유자가 아니며 허용하지 않습니다.",
    "pt": "Não sou o proprietário desta voz e não autorizo.",
    "ru": "Я не являюсь владельцем этого голоса и не даю согласия.",
    "uk": "Я не є власником цього голосу і не даю згоди.",
    "vi": "Tôi không phải là chủ sở hữu giọng nói này và tôi không đồng ý.",
    "zh": "我不是此声音的拥有者，我不授权使用此声音。",
}
KOKORO = sorted(KOKORO_IMPOSTORS)


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


@cache
def kokoro_recording(language: str, impostor: bool = False) -> bytes:
    """The published phrase naming OpenAI (or the impostor) spoken by Kokoro, as FLAC; made once."""
    from samples.consent_voices import speak

    samples: np.ndarray = speak(KOKORO_IMPOSTORS[language] if impostor else reading(language), language)
    return encode(samples, "flac")


def refused(client, language: str, recording: bytes) -> dict:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.voice_consents.create(name="impostor", language=language, recording=("i.flac", recording))
    return caught.value.body


@pytest.mark.slow
@pytest.mark.parametrize("language", KOKORO)
def test_published_phrase_spoken_by_kokoro_is_accepted(client, language):
    consent = client.audio.voice_consents.create(
        name=f"kokoro {language}", language=language, recording=("c.flac", kokoro_recording(language))
    )
    assert consent.language == language
    client.audio.voice_consents.delete(consent.id)


@pytest.mark.slow
@pytest.mark.parametrize("language", KOKORO)
def test_kokoro_impostors_are_refused(client, language):
    """The phrase turned into a refusal, and another language's phrase declared as this one."""
    body = refused(client, language, kokoro_recording(language, impostor=True))
    assert body["code"] == "consent_phrase_mismatch" and body["param"] == "recording"
    other = KOKORO[(KOKORO.index(language) + 1) % len(KOKORO)]
    body = refused(client, language, kokoro_recording(other))
    assert body["code"] == "consent_phrase_mismatch"
