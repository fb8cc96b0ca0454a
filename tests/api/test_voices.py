"""Custom voices through the official SDK, on SQLite and on a real PostgreSQL.

The consent and the voice sample are spoken by the gateway's own speech endpoint (Piper's
en_US-joe); a sample from espeak-ng is another speaker and is refused.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest

from gateway.settings import SPEECH_VOICE_NAMES
from tests.helpers import (
    CONSENT_PHRASE,
    KEY_A,
    KEY_B,
    encode,
    espeak_speech,
    pitched_joe_voice,
    read_audio,
    sdk,
    word_error_rate,
)

SAMPLE = (
    "Hello, this is a sample of my voice. I like walking in the park in the morning, "
    "and in the evening I read a good book by the window."
)
SPOKEN = "Custom voices are spoken by the nearest Piper voice."
JOE, HIGH = "en_US-joe-medium", "en_US-joehigh-medium"


def speak(client: openai.OpenAI, text: str, voice: object = "alloy") -> bytes:
    return client.audio.speech.create(model="tts-1", voice=voice, input=text, response_format="wav").content


@pytest.fixture(scope="module")
def speech_settings(tmp_path_factory) -> dict:
    """Two installed Piper voices that really differ: joe, and a higher one (`echo` speaks it)."""
    folder = tmp_path_factory.mktemp("piper-voices")
    pitched_joe_voice(folder, HIGH)
    return {"voices_dir": str(folder), "voices": {**{name: JOE for name in SPEECH_VOICE_NAMES}, "echo": HIGH}}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, start_server, storage_settings, speech_settings):
    overrides = {**storage_settings(request.param), "speech": speech_settings}
    server = start_server(api_keys=[KEY_A, KEY_B], custom_voices={"max_per_tenant": 2}, **overrides)
    return request.param, server, overrides


def list_voices(server, key: str) -> list[dict]:
    """GET /v1/audio/voices, our extension (the SDKs have no method for it)."""
    response = httpx.get(f"{server.base_url}/audio/voices", headers={"authorization": f"Bearer {key}"}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()["data"]


@pytest.fixture(scope="module")
def consent(alice):
    recording = speak(alice, CONSENT_PHRASE)  # the gateway's own speech endpoint says the approved phrase
    return alice.audio.voice_consents.create(name="Joe", language="en-US", recording=("consent.wav", recording))


@pytest.fixture(scope="module")
def sample(alice) -> bytes:
    return speak(alice, SAMPLE)


@pytest.fixture(scope="module")
def voice(alice, consent, sample):
    return alice.audio.voices.create(name="Joe's voice", audio_sample=("sample.wav", sample), consent=consent.id)


def test_a_sample_of_the_consent_speaker_becomes_a_voice(alice, voice, backend):
    assert voice.object == "audio.voice" and voice.type == "audio_sample"
    assert voice.id.startswith("voice_") and voice.name == "Joe's voice" and voice.created_at > 1_700_000_000
    listed = list_voices(backend[1], KEY_A)
    mine = [v for v in listed if v["id"] == voice.id]
    assert mine and mine[0]["type"] == "audio_sample" and mine[0]["piper_voice"] == JOE  # not HIGH
    assert {"alloy", "cedar"} <= {v["id"] for v in listed if v["type"] == "builtin"}


def test_a_custom_voice_speaks(alice, voice):
    audio = alice.audio.speech.create(model="tts-1", voice={"id": voice.id}, input=SPOKEN, response_format="wav")
    samples = read_audio(audio.content)
    assert len(samples) > 16000
    text = alice.audio.transcriptions.create(model="whisper-1", file=("spoken.wav", audio.content)).text
    assert word_error_rate(SPOKEN, text) < 0.35, text


def test_a_voice_is_spoken_by_the_nearest_installed_voice(backend, bob):
    """Consent and sample in the higher voice: the nearest of the two installed voices is that one."""
    recording = speak(bob, CONSENT_PHRASE, voice="echo")
    consent = bob.audio.voice_consents.create(name="High", language="en-US", recording=("consent.wav", recording))
    sample = speak(bob, SAMPLE, voice="echo")
    high = bob.audio.voices.create(name="High voice", audio_sample=("sample.wav", sample), consent=consent.id)
    assert [v["piper_voice"] for v in list_voices(backend[1], KEY_B) if v["id"] == high.id] == [HIGH]
    bob.audio.voices.delete(high.id)
    bob.audio.voice_consents.delete(consent.id)


def test_another_speaker_is_refused(alice, consent):
    other = espeak_speech(SAMPLE, voice="en-us")
    with pytest.raises(openai.BadRequestError) as caught:
        alice.audio.voices.create(name="not Joe", audio_sample=("other.flac", other), consent=consent.id)
    error = caught.value.response.json()["error"]
    assert error["param"] == "audio_sample" and error["code"] == "voice_mismatch"
    assert "similarity" in error["message"]


def test_consent_backing_a_voice_cannot_be_deleted(alice, consent, voice):
    with pytest.raises(openai.ConflictError) as caught:
        alice.audio.voice_consents.delete(consent.id)
    assert caught.value.code == "consent_in_use" and voice.id in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert alice.audio.voice_consents.retrieve(consent.id).id == consent.id


def test_tenants_cannot_use_each_others_voices(backend, bob, consent, voice, sample):
    with pytest.raises(openai.NotFoundError) as caught:
        bob.audio.speech.create(model="tts-1", voice={"id": voice.id}, input="hello")
    assert caught.value.response.json()["error"]["param"] == "voice"
    with pytest.raises(openai.NotFoundError):
        bob.audio.voices.delete(voice.id)
    with pytest.raises(openai.NotFoundError) as caught:
        bob.audio.voices.create(name="stolen", audio_sample=("s.wav", sample), consent=consent.id)
    assert caught.value.response.json()["error"]["param"] == "consent"
    assert voice.id not in [v["id"] for v in list_voices(backend[1], KEY_B)]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"this is not audio at all" * 100, 400, "invalid_value"),
        (b"\0" * (10 * 1024 * 1024 + 1), 413, "file_too_large"),
        (encode(np.zeros(16000 * 31, np.float32), "flac"), 400, "audio_too_long"),
    ],
)
def test_bad_samples(alice, consent, payload, status, code):
    with pytest.raises(openai.APIStatusError) as caught:
        alice.audio.voices.create(name="x", audio_sample=("s.wav", io.BytesIO(payload)), consent=consent.id)
    assert caught.value.status_code == status
    error = caught.value.response.json()["error"]
    assert error["code"] == code and error["param"] == "audio_sample"


def test_invalid_fields(alice, consent, sample):
    with pytest.raises(openai.BadRequestError) as caught:
        alice.audio.voices.create(name="x", prompt="a warm voice", type="prompt")
    assert caught.value.response.json()["error"]["param"] == "type"
    with pytest.raises(openai.NotFoundError) as caught:
        alice.audio.voices.create(name="x", audio_sample=("s.wav", sample), consent="cons_missing")
    assert caught.value.response.json()["error"]["param"] == "consent"
    with pytest.raises(openai.NotFoundError) as caught:
        alice.audio.speech.create(model="tts-1", voice={"id": "voice_missing"}, input="hello")
    assert caught.value.response.json()["error"]["param"] == "voice"


def test_limit_then_delete(alice, consent, voice, sample):
    second = alice.audio.voices.create(name="second", audio_sample=("s.wav", sample), consent=consent.id)
    with pytest.raises(openai.BadRequestError) as caught:  # max_per_tenant is 2 on this server
        alice.audio.voices.create(name="third", audio_sample=("s.wav", sample), consent=consent.id)
    assert caught.value.code == "voice_limit_exceeded"
    deleted = alice.audio.voices.delete(second.id)
    assert deleted.id == second.id and deleted.deleted is True and deleted.object == "audio.voice.deleted"
    with pytest.raises(openai.NotFoundError):
        alice.audio.voices.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        alice.audio.speech.create(model="tts-1", voice={"id": second.id}, input="hello")


def test_restart_keeps_voices_and_pins_apply(backend, start_server, alice, voice):
    _, _, overrides = backend
    replica = start_server(api_keys=[KEY_A, KEY_B], custom_voices={"pins": {voice.id: HIGH}}, **overrides)
    client = sdk(replica)
    listed = list_voices(replica, KEY_A)
    assert [v["piper_voice"] for v in listed if v["id"] == voice.id] == [HIGH]  # the voice survived the restart
    # the pin is what speaks: the higher voice is quicker than the nearest one, joe, for the same text
    pinned = client.audio.speech.create(model="tts-1", voice={"id": voice.id}, input=SAMPLE, response_format="wav")
    nearest = alice.audio.speech.create(model="tts-1", voice={"id": voice.id}, input=SAMPLE, response_format="wav")
    assert len(read_audio(pinned.content)) < 0.85 * len(read_audio(nearest.content))
    heard = client.audio.transcriptions.create(model="whisper-1", file=("pinned.wav", pinned.content)).text
    assert word_error_rate(SAMPLE, heard) < 0.3, heard


def test_deleting_the_voice_then_its_consent(backend, alice, consent, voice):
    deleted = alice.audio.voices.delete(voice.id)
    assert deleted.id == voice.id and deleted.deleted is True
    assert voice.id not in [v["id"] for v in list_voices(backend[1], KEY_A)]
    with pytest.raises(openai.NotFoundError) as caught:
        alice.audio.speech.create(model="tts-1", voice={"id": voice.id}, input="hello")
    assert caught.value.response.json()["error"]["param"] == "voice"
    gone = alice.audio.voice_consents.delete(consent.id)
    assert gone.id == consent.id and gone.deleted is True
    with pytest.raises(openai.NotFoundError):
        alice.audio.voice_consents.retrieve(consent.id)
    with pytest.raises(openai.NotFoundError):
        alice.audio.voices.delete(voice.id)
