"""The speech request schema and what the gateway takes from `instructions`."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.formats import speech_usage
from gateway.protocol.speech import SpeechRequest, VoiceId, pace_from_instructions


@pytest.mark.parametrize(
    ("instructions", "factor"),
    [
        (None, 1.0),
        ("", 1.0),
        ("Speak slowly and calmly.", 0.8),
        ("Read it in a leisurely, warm voice.", 0.8),
        ("Really slow please", 0.65),
        ("Talk very quickly!", 1.5),
        ("Speak fast.", 1.25),
        ("Speak quickly, very quickly", 1.5),
        ("Sound cheerful and warm, with a British accent.", 1.0),  # no pace word: ignored
        ("Do not speak too fast", 1.0),  # negated
        ("Speak fast, but not too fast", 1.25),
        ("Start slow, then get faster", 1.0),  # contradictory
    ],
)
def test_pace_words(instructions, factor):
    assert pace_from_instructions(instructions) == factor


def test_request_defaults_and_voice_forms():
    body = SpeechRequest(model="tts-1", input="Hi.", voice="alloy")
    assert (body.response_format, body.speed, body.stream_format, body.instructions) == ("mp3", 1.0, "audio", None)
    custom = SpeechRequest.model_validate({"model": "tts-1", "input": "Hi.", "voice": {"id": "voice_123"}})
    assert custom.voice == VoiceId(id="voice_123")


@pytest.mark.parametrize(
    "fields",
    [
        {"input": ""},
        {"input": " \n "},
        {"input": "x" * 4097},
        {"speed": 0.24},
        {"speed": 4.01},
        {"response_format": "ogg"},
        {"stream_format": "json"},
        {"voice": {"name": "alloy"}},
        {"volume": 1.0},
    ],
)
def test_request_refuses(fields):
    with pytest.raises(ValidationError):
        SpeechRequest.model_validate({"model": "tts-1", "input": "Hi.", "voice": "alloy", **fields})


def test_usage_estimate_adds_up():
    usage = speech_usage("Hello, world!", seconds=1.0)
    assert usage == {"input_tokens": 4, "output_tokens": 50, "total_tokens": 54}
