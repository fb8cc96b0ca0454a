"""The diarizing model's request rules, reference clips and configuration, without models."""

from __future__ import annotations

from typing import get_args

import numpy as np
import pytest

from gateway.protocol.forms import validate
from gateway.protocol.transcriptions import TranscriptionFormat, TranscriptionRequest
from gateway.services import build_services
from gateway.settings import DEFAULT_CONFIG, Settings
from gateway.uploads import decode_reference
from models.diarization.embedded import EmbeddedDiarizer
from models.diarization.pyannote_engine import PyannoteEngine
from models.errors import InvalidRequest
from tests.helpers import data_url, encode


def _request(**fields) -> TranscriptionRequest:
    return validate(TranscriptionRequest, {"model": "gpt-4o-transcribe-diarize", **fields})


def _tone(seconds: float, container: str = "wav") -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    return encode((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), container)


@pytest.mark.parametrize("container", ["wav", "mp3", "ogg", "m4a", "flac"])
def test_a_reference_in_any_container_decodes(container):
    samples = decode_reference(data_url(_tone(3.0, container), "audio/whatever"), 0)
    assert len(samples) / 16000 == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize(
    ("value", "code", "names"),
    [
        ("https://example.com/a.wav", "invalid_value", "must be a base64 data URL"),
        (data_url(b"\x00" * 2000), "invalid_value", "Could not decode"),
        (data_url(_tone(1.5)), "audio_too_short", "1.50 seconds long"),
        (data_url(_tone(10.5)), "audio_too_long", "longer than 10 seconds"),
    ],
)
def test_a_bad_reference_names_the_param_and_its_index(value, code, names):
    with pytest.raises(InvalidRequest) as caught:
        decode_reference(value, 2)
    assert caught.value.param == "known_speaker_references" and caught.value.code == code
    assert "known_speaker_references[2]" in caught.value.message and names in caught.value.message


def test_a_reference_of_two_or_ten_seconds_is_fine():
    assert len(decode_reference(data_url(_tone(2.0)), 0)) == 32000
    assert len(decode_reference(data_url(_tone(10.0, "mp3")), 0)) >= 160000  # with the encoder's padding


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"known_speaker_names": ["a", "b"], "known_speaker_references": ["x"]}, "known_speaker_references"),
        ({"known_speaker_names": list("abcde"), "known_speaker_references": list("vwxyz")}, "known_speaker_names"),
        ({"known_speaker_references": list("vwxyz")}, "known_speaker_references"),
        ({"known_speaker_names": [" "], "known_speaker_references": ["x"]}, "known_speaker_names"),
        ({"known_speaker_names": ["a", "a"], "known_speaker_references": ["x", "y"]}, "known_speaker_names"),
    ],
)
def test_known_speaker_lists_are_checked_before_anything_is_decoded(fields, param):
    """Checked once the model is known to diarize (`check_diarizing`, before the audio is decoded): any
    other model refuses known speakers as not diarizing, never with a count of references."""
    with pytest.raises(InvalidRequest) as caught:
        _request(**fields).check_diarizing()
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"prompt": "hi"}, "prompt"),
        ({"include": ["logprobs"]}, "include"),
        ({"response_format": "verbose_json", "timestamp_granularities": ["word"]}, "timestamp_granularities"),
        ({"response_format": "verbose_json"}, "response_format"),
    ],
)
def test_what_the_diarizing_model_refuses(fields, param):
    with pytest.raises(InvalidRequest) as caught:
        _request(**fields).check_diarizing()
    assert caught.value.param == param


@pytest.mark.parametrize("fmt", get_args(TranscriptionFormat))
def test_what_the_diarizing_model_answers_in(fmt):
    """Exactly OpenAI's five formats; every other one is refused naming `response_format`."""
    request = _request(response_format=fmt)
    if fmt in ("diarized_json", "json", "text", "srt", "vtt"):
        request.check_diarizing()
        return
    with pytest.raises(InvalidRequest) as caught:
        request.check_diarizing()
    assert caught.value.param == "response_format" and caught.value.code == "unsupported_value"
    assert fmt in caught.value.message and "diarized_json" in caught.value.message


def test_chunking_strategy_is_needed_above_the_limit():
    _request().check_duration(30.0, 30)
    _request(chunking_strategy="auto").check_duration(31.0, 30)
    _request().check_duration(300.0, 0)  # 0: no limit
    with pytest.raises(InvalidRequest) as caught:
        _request().check_duration(30.5, 30)
    assert caught.value.param == "chunking_strategy"


def test_other_models_refuse_diarized_json_and_known_speakers():
    with pytest.raises(InvalidRequest) as caught:
        _request(response_format="diarized_json").check_not_diarizing()
    assert caught.value.param == "response_format"
    with pytest.raises(InvalidRequest) as caught:
        _request(known_speaker_names=["a"], known_speaker_references=["x"]).check_not_diarizing()
    assert caught.value.param == "known_speaker_names"


def test_the_default_config_serves_the_embedded_engine_with_whisper_base(tmp_path):
    services = build_services(Settings.load(DEFAULT_CONFIG, data_dir=str(tmp_path)))
    entry = services.registry.resolve("gpt-4o-transcribe-diarize", ("transcription", "diarization"))
    assert entry.kind == "diarization" and entry.name == "diarize"
    assert isinstance(entry.worker.engine, EmbeddedDiarizer)
    assert entry.worker.engine.config.known_threshold == 0.8
    assert entry.worker.whisper is services.registry.entries["base"].worker  # shared, loaded once
    assert not entry.worker.loaded  # nothing heavy at start unless preloaded


def test_the_pyannote_engine_is_chosen_by_config(tmp_path):
    settings = Settings.load(
        DEFAULT_CONFIG,
        data_dir=str(tmp_path),
        diarization={"engine": "pyannote", "transcription_model": "tiny.en", "models": ["diarize-me"],
                     "pyannote": {"pipeline": "/models/community-1", "device": "cpu"}},
    )
    entry = build_services(settings).registry.resolve("diarize-me", "diarization")
    assert isinstance(entry.worker.engine, PyannoteEngine)
    assert entry.worker.engine.source.pipeline == "/models/community-1"
    assert entry.worker.whisper.name == "tiny.en"


def test_diarization_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="transcription_model"):
        Settings.load(None, diarization={"transcription_model": "large-v3"})
    # left at its default in a configuration without `base`: not served, nothing refused
    only_tiny = Settings.load(
        None,
        data_dir=str(tmp_path),
        transcription={"models": {"tiny.en": {"embedded": "whisper-tiny.en"}}, "aliases": {}},
        consents={"transcription_model": "tiny.en"},
    )
    assert "gpt-4o-transcribe-diarize" not in build_services(only_tiny).registry.served
    # an alias will do
    aliased = Settings.load(None, data_dir=str(tmp_path), diarization={"transcription_model": "whisper-1"})
    assert build_services(aliased).registry.entries["diarize"].uses == ("base",)
    with pytest.raises(ValueError, match="pipeline"):
        Settings.load(None, diarization={"engine": "pyannote"})
    settings = Settings.load(None, data_dir=str(tmp_path), diarization={"enabled": False})
    assert "gpt-4o-transcribe-diarize" not in build_services(settings).registry.served
