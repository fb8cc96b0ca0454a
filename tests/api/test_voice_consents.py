"""/v1/audio/voice_consents through the official SDK, on SQLite and on a real PostgreSQL.

Consent recordings are real speech: the approved phrase spoken by the gateway's own speech
endpoint (Piper), heard by the gateway's own Whisper.
"""

from __future__ import annotations

import io

import httpx
import numpy as np
import openai
import pytest

from gateway.tenants import tenant_of
from models.consent_phrases import DEFAULT_PHRASES
from tests.conftest import free_port
from tests.helpers import CONSENT_PHRASE, KEY_A, KEY_B, encode, espeak_speech, sdk

ORG_PHRASE = CONSENT_PHRASE.replace("OpenAI", "Acme Voice Lab")
OTHER_SENTENCE = "I am the owner of this house and I agree to pay the rent every month."
NEGATED = (
    "I am not the owner of this voice and I do not consent to OpenAI using this voice to create a synthetic "
    "voice model."
)

# Close to the phrase (the error rate alone would accept them) but not the speaker's own declaration
REST = CONSENT_PHRASE.split(" to OpenAI ", 1)[1]
NOT_MINE = {
    "nobody": f"Nobody is the owner of this voice and nobody consents to OpenAI {REST}",
    "kidding": CONSENT_PHRASE + " Just kidding, I take it back.",
    "revoked": CONSENT_PHRASE + " I hereby revoke that.",
    "he": f"He is the owner of this voice and he consents to OpenAI {REST}",
    "you": f"You are the owner of this voice and you consent to OpenAI {REST}",
    "if": f"If I were the owner of this voice, I would consent to OpenAI {REST}",
    "question": f"Am I the owner of this voice, and do I consent to OpenAI {REST[:-1]}?",
    # a second new user's: framing, another's words, a denial, another voice, a retraction after
    "suppose": "Suppose " + CONSENT_PHRASE,
    "boss": "My boss says: " + CONSENT_PHRASE,
    "deny": "I deny I am the owner of this voice and I consent to OpenAI " + REST,
    "her voice": f"I am the owner of her voice and I consent to OpenAI using her voice {REST.split('voice ', 1)[1]}",
    "nope": CONSENT_PHRASE + " Nope.",
    "lie": CONSENT_PHRASE + " Just a lie.",
}
# the same in other languages, spoken by espeak-ng: language -> (voice, speed, text); Whisper base hears
# "Nadie" as "A mí" from this Spanish voice (refused: `soy` is not heard)
NOT_MINE_ESPEAK = {
    "de": (
        "de",
        160,
        DEFAULT_PHRASES["de"][0]
        .replace("{organization}", "OpenAI")
        .replace("Ich bin", "Niemand ist")
        .replace("und bin", "und niemand ist"),
    ),
    "es": (
        "es+m3",
        150,
        DEFAULT_PHRASES["es"][0]
        .replace("{organization}", "OpenAI")
        .replace("Soy", "Nadie es")
        .replace("doy mi", "nadie da su"),
    ),
}
NEW_RULES = ("negation, retraction or condition", "first person", "after the approved phrase", "question")


@pytest.fixture(scope="session")
def speech(server) -> dict[str, bytes]:
    """The recordings, spoken by the gateway's own speech endpoint (Piper en_US-joe)."""
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)

    def say(text: str) -> bytes:
        return client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="flac").content

    return {
        "phrase": say(CONSENT_PHRASE),
        "org_phrase": say(ORG_PHRASE),
        "other": say(OTHER_SENTENCE),
        "negated": say(NEGATED),
    }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, start_server, storage_settings):
    """A server with two API keys and a fresh store on each backend."""
    overrides = storage_settings(request.param)
    server = start_server(api_keys=[KEY_A, KEY_B], consents={"organization": "Acme Voice Lab"}, **overrides)
    return request.param, server, overrides


@pytest.fixture(scope="module")
def consent(alice, speech):
    return alice.audio.voice_consents.create(name="Alice", language="en-US", recording=("alice.flac", speech["phrase"]))


def test_create_retrieve_rename_delete(alice, consent, speech):
    assert consent.object == "audio.voice_consent"
    assert consent.id.startswith("cons_") and consent.name == "Alice" and consent.language == "en-US"
    assert consent.created_at > 1_700_000_000
    again = alice.audio.voice_consents.retrieve(consent.id)
    assert again == consent
    renamed = alice.audio.voice_consents.update(consent.id, name="Alice Smith")
    assert renamed.name == "Alice Smith" and renamed.id == consent.id and renamed.created_at == consent.created_at
    assert alice.audio.voice_consents.retrieve(consent.id).name == "Alice Smith"

    # a bare language code and the organisation's own wording are accepted too
    extra = alice.audio.voice_consents.create(name="Org wording", language="en", recording=speech["org_phrase"])
    assert extra.language == "en"
    deleted = alice.audio.voice_consents.delete(extra.id)
    assert deleted.id == extra.id and deleted.deleted is True and deleted.object == "audio.voice_consent"
    with pytest.raises(openai.NotFoundError) as caught:
        alice.audio.voice_consents.retrieve(extra.id)
    assert caught.value.code == "consent_not_found"
    with pytest.raises(openai.NotFoundError):
        alice.audio.voice_consents.delete(extra.id)


@pytest.mark.parametrize("which", ["other", "negated"])
def test_a_different_sentence_is_refused(alice, speech, which):
    with pytest.raises(openai.BadRequestError) as caught:
        alice.audio.voice_consents.create(name="nope", language="en-US", recording=speech[which])
    error = caught.value.response.json()["error"]
    assert error["param"] == "recording" and error["code"] == "consent_phrase_mismatch"
    assert "Heard:" in error["message"] and "Expected:" in error["message"]
    assert "owner of this" in error["message"].lower()  # what was heard is quoted back
    assert CONSENT_PHRASE in error["message"] or ORG_PHRASE in error["message"]


def _refused_by_the_new_rules(client: openai.OpenAI, language: str, recording: bytes) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.voice_consents.create(name="not mine", language=language, recording=("r.flac", recording))
    error = caught.value.response.json()["error"]
    assert error["param"] == "recording" and error["code"] == "consent_phrase_mismatch"
    # refused for not being the speaker's own declaration, not for sounding different
    assert any(rule in error["message"] for rule in NEW_RULES), error["message"]


@pytest.mark.parametrize("which", sorted(NOT_MINE))
def test_what_is_not_the_speakers_own_declaration_is_refused(client, which):
    """Somebody else's consent, a retracted, conditional or questioned one (Piper's voice, as above)."""
    spoken = client.audio.speech.create(model="tts-1", voice="alloy", input=NOT_MINE[which], response_format="flac")
    _refused_by_the_new_rules(client, "en", spoken.content)


@pytest.mark.parametrize(
    "text", ["Okay. " + CONSENT_PHRASE + " Thank you so much.", "Hello, my name is Joe. " + CONSENT_PHRASE]
)
def test_a_greeting_before_or_thanks_after_are_still_consent(client, text):
    spoken = client.audio.speech.create(model="tts-1", voice="alloy", input=text, response_format="flac")
    created = client.audio.voice_consents.create(
        name="polite", language="en-US", recording=("consent.flac", spoken.content)
    )
    assert created.id.startswith("cons_")


@pytest.mark.parametrize("language", sorted(NOT_MINE_ESPEAK))
def test_nobodys_consent_is_refused_in_other_languages(client, language):
    voice, speed, text = NOT_MINE_ESPEAK[language]
    _refused_by_the_new_rules(client, language, espeak_speech(text, voice=voice, speed=speed))


def test_pagination_walks_every_page(alice, bob, consent, speech):
    created = [
        alice.audio.voice_consents.create(name=f"page {i}", language="en-US", recording=speech["phrase"]).id
        for i in range(2)
    ]
    first = alice.audio.voice_consents.list(limit=2)
    assert len(first.data) == 2 and first.has_more is True
    raw = alice.audio.voice_consents.with_raw_response.list(limit=2).http_response.json()
    assert (
        raw["object"] == "list" and raw["first_id"] == raw["data"][0]["id"] and raw["last_id"] == raw["data"][-1]["id"]
    )
    walked = [c.id for c in alice.audio.voice_consents.list(limit=2)]  # the SDK pages on by itself
    assert len(walked) == len(set(walked)) >= 3
    assert set(created) | {consent.id} <= set(walked)
    assert walked[:2] == created[::-1]  # newest first
    assert [c.id for c in alice.audio.voice_consents.list()] == walked  # default limit 20: one page
    for limit in (0, 101):
        with pytest.raises(openai.BadRequestError) as caught:
            alice.audio.voice_consents.list(limit=limit)
        assert caught.value.response.json()["error"]["param"] == "limit"
    assert [c.id for c in bob.audio.voice_consents.list()] == []


def test_tenants_are_isolated(alice, bob, consent, speech):
    for call in (
        lambda: bob.audio.voice_consents.retrieve(consent.id),
        lambda: bob.audio.voice_consents.update(consent.id, name="mine now"),
        lambda: bob.audio.voice_consents.delete(consent.id),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    own = bob.audio.voice_consents.create(name="Bob", language="en-US", recording=speech["phrase"])
    assert [c.id for c in bob.audio.voice_consents.list()] == [own.id]
    assert own.id not in [c.id for c in alice.audio.voice_consents.list()]
    with pytest.raises(openai.NotFoundError):
        alice.audio.voice_consents.retrieve(own.id)
    assert alice.audio.voice_consents.retrieve(consent.id).id == consent.id  # untouched
    bob.audio.voice_consents.delete(own.id)


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"this is not audio at all" * 100, 400, "invalid_value"),
        (b"", 400, "empty_file"),
        (encode(np.zeros(800, np.float32), "wav"), 400, "audio_too_short"),
        (b"\0" * (10 * 1024 * 1024 + 1), 413, "file_too_large"),
    ],
)
def test_bad_recordings(alice, payload, status, code):
    with pytest.raises(openai.APIStatusError) as caught:
        alice.audio.voice_consents.create(name="x", language="en-US", recording=("r.wav", io.BytesIO(payload)))
    assert caught.value.status_code == status
    error = caught.value.response.json()["error"]
    assert error["code"] == code and error["param"] == "recording"


def test_silence_is_refused(alice):
    with pytest.raises(openai.BadRequestError) as caught:
        alice.audio.voice_consents.create(name="x", language="en", recording=encode(np.zeros(48000, np.float32), "wav"))
    assert caught.value.code == "consent_phrase_mismatch"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"name": "x", "language": "tlh"}, "language"),  # no phrase for Klingon
        ({"name": "x", "language": "not a tag"}, "language"),
        ({"name": "   ", "language": "en"}, "name"),
        ({"language": "en"}, "name"),
        ({"name": "x"}, "language"),
    ],
)
def test_invalid_fields(backend, speech, fields, param):
    server = backend[1]
    files = {"recording": ("r.flac", speech["phrase"])}
    response = httpx.post(
        f"{server.base_url}/audio/voice_consents",
        data=fields,
        files=files,
        headers={"authorization": f"Bearer {KEY_A}"},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


def test_missing_recording_and_bad_rename(alice, backend, consent):
    server = backend[1]
    response = httpx.post(
        f"{server.base_url}/audio/voice_consents",
        files={"name": (None, "x"), "language": (None, "en")},
        headers={"authorization": f"Bearer {KEY_A}"},
    )
    assert response.status_code == 400 and response.json()["error"]["param"] == "recording"
    with pytest.raises(openai.BadRequestError) as caught:
        alice.audio.voice_consents.update(consent.id, name="")
    assert caught.value.response.json()["error"]["param"] == "name"
    with pytest.raises(openai.BadRequestError):
        alice.audio.voice_consents.list(after="voice_123")


def test_auth_is_required(backend):
    server = backend[1]
    with pytest.raises(openai.AuthenticationError):
        sdk(server, "wrong-key").audio.voice_consents.list()


def test_restart_keeps_everything(backend, start_server, storage_settings, speech):
    overrides = storage_settings(backend[0])  # a store of its own: this test stops its server
    first = start_server(api_keys=[KEY_A], **overrides)
    before = sdk(first).audio.voice_consents.create(name="kept", language="en-GB", recording=speech["phrase"])
    first.stop()
    replica = start_server(api_keys=[KEY_A], **overrides)
    client = sdk(replica)
    assert client.audio.voice_consents.retrieve(before.id) == before
    assert [c.id for c in client.audio.voice_consents.list()] == [before.id]
    store, tenant = replica.services.store, tenant_of(KEY_A)
    assert store.recording(tenant, store.get_consent(tenant, before.id).recording_id) == speech["phrase"]


def test_an_unreachable_database_is_503_and_the_rest_works(start_server):
    server = start_server(storage={"url": f"postgresql://nobody@127.0.0.1:{free_port()}/none", "connect_timeout_s": 1})
    client = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.audio.voice_consents.list()
    assert caught.value.status_code == 503
    assert caught.value.response.json()["error"]["code"] == "storage_unavailable"
    assert any(m.id == "whisper-1" for m in client.models.list())
    ready = httpx.get(f"{server.url}/health/ready")
    assert ready.status_code == 503 and ready.json()["storage"]["error"]
