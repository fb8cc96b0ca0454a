"""/v1/audio/translations: Whisper's translate task, through the SDK."""

from __future__ import annotations

import re

import pytest

from tests.helpers import read_audio


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


SRT_CUE = re.compile(r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)")
VTT_CUE = re.compile(r"(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\n(.+)")


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.replace(",", ".").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _check_cues(cues: list[tuple[str, str, str]], duration: float) -> str:
    """Cue times run forward within the audio; returns the cues' text."""
    assert cues, "no cues"
    times = [(_seconds(start), _seconds(end)) for start, end, _ in cues]
    assert all(start < end <= duration + 0.5 for start, end in times), times
    assert [start for start, _ in times] == sorted(start for start, _ in times)
    return " ".join(text for _, _, text in cues)


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt"])
def test_text_formats(client, fixture_audio, fmt):
    audio = fixture_audio("de_morning.flac")
    duration = len(read_audio(audio)) / 16000
    result = client.audio.translations.create(model="base", file=audio, response_format=fmt)
    assert isinstance(result, str)
    if fmt == "text":
        text = result
        assert "-->" not in text and not text.startswith(("1\n", "WEBVTT"))
    elif fmt == "srt":
        blocks = result.strip().split("\n\n")
        cues = [SRT_CUE.fullmatch(block) for block in blocks]
        assert all(cues), result
        assert [int(c.group(1)) for c in cues] == list(range(1, len(cues) + 1))
        text = _check_cues([c.groups()[1:] for c in cues], duration)
    else:
        header, *blocks = result.strip().split("\n\n")
        assert header == "WEBVTT", result
        cues = [VTT_CUE.fullmatch(block) for block in blocks]
        assert all(cues), result
        text = _check_cues([c.groups() for c in cues], duration)
    text = text.lower()
    assert "good morning" in text and "park" in text and "guten" not in text  # English, not German


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
