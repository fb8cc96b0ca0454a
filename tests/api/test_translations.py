"""/v1/audio/translations: Whisper's translate task, through the SDK."""

from __future__ import annotations

import pytest


def test_german_speech_comes_back_in_english(client, fixture_audio):
    result = client.audio.translations.create(model="whisper-1", file=fixture_audio("de_morning.flac"))
    text = result.text.lower()
    assert "good morning" in text and "park" in text
    assert "guten" not in text


def test_verbose_json(client, fixture_audio):
    result = client.audio.translations.create(
        model="base", file=fixture_audio("de_morning.flac"), response_format="verbose_json"
    )
    assert result.task == "translate"
    assert result.language == "english"
    assert result.duration > 3
    assert result.segments and "morning" in result.text.lower()


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats(client, fixture_audio, fmt):
    result = client.audio.translations.create(model="base", file=fixture_audio("de_morning.flac"), response_format=fmt)
    assert isinstance(result, str) and "morning" in result.lower()


def test_english_only_model_cannot_translate(client, fixture_audio):
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.translations.create(model="tiny.en", file=fixture_audio("de_morning.flac"))
    assert caught.value.body["param"] == "model"


def test_diarized_json_is_not_a_translation_format(client, fixture_audio):
    import openai

    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.translations.create(
            model="base", file=fixture_audio("de_morning.flac"), extra_body={"response_format": "diarized_json"}
        )
    assert caught.value.body["param"] == "response_format"
