"""`keywords[]`, `languages[]` and the SDKs' speech-to-text model ids, through the official Python SDK."""

from __future__ import annotations

import json

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import encode, espeak_speech, piper_speech

DRUGS = "The drug Xarelto interacts with Brilinta and Eliquis."
DRUG_NAMES = ["Xarelto", "Brilinta", "Eliquis"]
SPANISH = "Buenos días, me gustaría reservar una mesa para dos personas esta noche."
PORTUGUESE = "Bom dia, eu gostaria de reservar uma mesa para duas pessoas esta noite."


@pytest.fixture(scope="module")
def drugs() -> bytes:
    """Piper's joe reading drug names Whisper base misspells on its own ("zero-toe", "the liquids")."""
    return piper_speech(DRUGS)


def _said(text: str) -> bool:
    """DRUGS was heard, whatever the spelling of the names (Piper's voice varies from run to run:
    whisper-1 once heard "interacts with" as "enterax with")."""
    lowered = text.lower()
    return "drug" in lowered and ("interact" in lowered or " with " in lowered)


def spelled(text: str) -> list[str]:
    return [name for name in DRUG_NAMES if name in text]


def test_keywords_spell_rare_words_right(client, drugs):
    plain = client.audio.transcriptions.create(model="whisper-1", file=("d.flac", drugs))
    guided = client.audio.transcriptions.create(model="whisper-1", file=("d.flac", drugs), keywords=DRUG_NAMES)
    assert "Xarelto" not in plain.text and len(spelled(plain.text)) < 3
    assert spelled(guided.text) == DRUG_NAMES


@pytest.mark.parametrize("mode", ["stream", "chunking", "verbose_json"])
def test_keywords_with_streaming_chunking_and_formats(client, drugs, mode):
    kwargs: dict = {"model": "gpt-transcribe", "file": ("d.flac", drugs), "keywords": DRUG_NAMES}
    if mode == "stream":
        events = list(client.audio.transcriptions.create(stream=True, **kwargs))
        assert events[-1].type == "transcript.text.done"
        text = events[-1].text
        assert "".join(e.delta for e in events[:-1]).strip() == text
    elif mode == "chunking":
        text = client.audio.transcriptions.create(chunking_strategy="auto", **kwargs).text
    else:
        text = client.audio.transcriptions.create(response_format="verbose_json", **kwargs).text
    assert spelled(text) == DRUG_NAMES


def test_keywords_with_the_diarizing_model(client, drugs):
    result = client.audio.transcriptions.create(
        model="gpt-4o-transcribe-diarize",
        file=("d.flac", drugs),
        response_format="diarized_json",
        keywords=DRUG_NAMES,
    )
    assert spelled(result.text) == DRUG_NAMES
    assert result.segments and all(s.speaker for s in result.segments)


@pytest.mark.parametrize(
    "keywords, fragment",
    [
        ([f"word{i}" for i in range(51)], "At most 50"),
        (["x" * 101], "101 characters"),
        (["Xarelto", "  "], "`keywords[1]` is empty"),
        ([f"Pharmaceutical compound number {i} of the formulary" for i in range(40)], "Whisper tokens"),
    ],
)
def test_keywords_beyond_the_limits_are_refused(client, drugs, keywords, fragment):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("d.flac", drugs), keywords=keywords)
    error = caught.value.body
    assert error["param"] == "keywords" and fragment in error["message"]
    # the connection stays usable: the same audio is then transcribed
    assert _said(client.audio.transcriptions.create(model="tiny.en", file=("d.flac", drugs)).text)


def test_languages_narrow_detection(client):
    audio = espeak_speech(PORTUGUESE, voice="pt")
    free = client.audio.transcriptions.create(
        model="whisper-1", file=("pt.flac", audio), response_format="verbose_json"
    )
    narrowed = client.audio.transcriptions.create(
        model="whisper-1", file=("pt.flac", audio), response_format="verbose_json", languages=["pt", "es"]
    )
    # Whisper base hears espeak's Portuguese as another language; told the choices, it transcribes Portuguese
    assert free.language != "portuguese" and "gostaria" not in free.text
    assert narrowed.language == "portuguese" and "gostaria" in narrowed.text


def test_languages_are_reported_in_json_verbose_json_and_done(client):
    audio = espeak_speech(SPANISH, voice="es")
    kwargs: dict = {"model": "gpt-transcribe", "file": ("es.flac", audio), "languages": ["it", "es"]}
    plain = client.audio.transcriptions.create(**kwargs)
    assert [language.code for language in plain.languages] == ["es"]
    verbose = client.audio.transcriptions.create(response_format="verbose_json", **kwargs)
    assert verbose.language == "spanish" and verbose.model_extra["languages"] == [{"code": "es"}]
    done = list(client.audio.transcriptions.create(stream=True, **kwargs))[-1]
    assert done.type == "transcript.text.done" and [language.code for language in done.languages] == ["es"]
    # without languages[] the detected language is reported too; a given one as given
    assert [
        x.code for x in client.audio.transcriptions.create(model="whisper-1", file=("es.flac", audio)).languages
    ] == ["es"]
    given = client.audio.transcriptions.create(model="whisper-1", file=("es.flac", audio), language="es")
    assert [x.code for x in given.languages] == ["es"]


def test_no_language_is_reported_when_none_is_reliable(client):
    silence = encode(np.zeros(16000 * 3, dtype=np.float32), "wav")
    result = client.audio.transcriptions.create(model="whisper-1", file=("s.wav", silence))
    assert result.languages == []
    # nothing heard, languages given: the verbose language is one of them, never an English default
    german = client.audio.transcriptions.create(
        model="whisper-1", file=("s.wav", silence), languages=["de"], response_format="verbose_json"
    )
    assert (german.language, german.text, german.languages) == ("german", "", [])
    # Portuguese, told it is English or German: transcribed in one of them, but not reported as detected
    audio = espeak_speech(PORTUGUESE, voice="pt")
    forced = client.audio.transcriptions.create(model="whisper-1", file=("pt.flac", audio), languages=["en", "de"])
    assert forced.languages == []


@pytest.mark.parametrize(
    "model, languages, fragment",
    [
        ("whisper-1", ["xx"], "`languages[0]`"),
        ("whisper-1", ["en", "klingon"], "`languages[1]`"),
        ("tiny.en", ["de"], "English-only"),
    ],
)
def test_unknown_or_unsupported_languages_are_refused(client, drugs, model, languages, fragment):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model=model, file=("d.flac", drugs), languages=languages)
    assert caught.value.body["param"] == "languages" and fragment in caught.value.body["message"]


def test_english_only_model_takes_en(client, drugs):
    result = client.audio.transcriptions.create(model="tiny.en", file=("d.flac", drugs), languages=["en"])
    assert [x.code for x in result.languages] == ["en"]


def test_translations_report_no_languages(client):
    result = client.audio.translations.create(model="whisper-1", file=("es.flac", espeak_speech(SPANISH, voice="es")))
    heard = result.text.lower()  # English, not the Spanish said (base hears "Buenos días" well, the rest less so)
    assert "good morning" in heard and "buenos" not in heard, heard
    assert "languages" not in (result.model_extra or {})


@pytest.mark.parametrize("model", ["gpt-live-transcribe", "gpt-realtime-whisper"])
def test_realtime_only_models_are_refused_clearly(client, drugs, model):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model=model, file=("d.flac", drugs))
    assert caught.value.body["param"] == "model" and "Realtime" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError):
        client.audio.translations.create(model=model, file=("d.flac", drugs))


def test_every_file_transcription_id_of_the_sdk_is_served(client, drugs):
    from typing import get_args

    from openai.types.audio_model import AudioModel

    for model in get_args(AudioModel):
        kwargs = {"response_format": "diarized_json"} if "diarize" in model else {}
        heard = client.audio.transcriptions.create(model=model, file=("d.flac", drugs), **kwargs).text
        assert _said(heard), (model, heard)


def test_keywords_on_the_wire_as_repeated_fields(server, drugs):
    """The SDKs send `keywords[]` (Python, Node) or repeated `keywords` (Go): both are read."""
    for name in ("keywords[]", "keywords"):
        response = httpx.post(
            f"{server.base_url}/audio/transcriptions",
            files={"file": ("d.flac", drugs)},
            data={"model": "whisper-1", name: DRUG_NAMES},
            timeout=300,
        )
        assert response.status_code == 200, response.text
        assert spelled(json.loads(response.text)["text"]) == DRUG_NAMES


@pytest.mark.parametrize("field", ["languages", "language"])
def test_a_language_the_model_does_not_have_is_refused(client, drugs, field):
    """Whisper base (whisper-1) has 99 languages, not Cantonese (`yue`, large-v3's 100th): `languages[]=yue`
    was accepted and ignored by detection."""
    value = ["en", "yue"] if field == "languages" else "yue"
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="whisper-1", file=("d.flac", drugs), **{field: value})
    assert caught.value.body["param"] == field and "`yue`" in caught.value.body["message"], caught.value.body
    assert "`base`" not in caught.value.body["message"]  # the client asked for whisper-1, not our name for it


@pytest.mark.parametrize(("sent", "code"), [("iw", "he"), ("in", "id"), ("ji", "yi"), ("jw", "jv"), ("jv", "jv")])
def test_deprecated_codes_are_read_as_todays_and_reported_so(client, fixture_audio, sent, code):
    """`iw` was refused while Whisper's nonstandard `jw` was taken: every withdrawn ISO-639-1 code is read as
    today's, and the answer reports today's code (`jv` for Javanese, which Whisper calls `jw`)."""
    given = client.audio.transcriptions.create(
        model="whisper-1", file=fixture_audio("en_fox.flac"), language=sent, response_format="verbose_json"
    )
    names = {"he": "hebrew", "id": "indonesian", "yi": "yiddish", "jv": "javanese"}
    assert given.language == names[code]  # transcribed in it
    # reported (in today's code) when Whisper hears speech in it: English forced into Hebrew is at the edge
    assert given.model_extra["languages"] in ([{"code": code}], [])


def test_deprecated_codes_in_languages(client, fixture_audio):
    result = client.audio.transcriptions.create(
        model="whisper-1", file=fixture_audio("en_fox.flac"), languages=["iw", "in", "ji", "jw", "en"]
    )
    assert [x.code for x in result.languages] == ["en"] and "fox" in result.text.lower()
