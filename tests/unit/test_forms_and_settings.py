import pytest
from starlette.datastructures import FormData

from gateway.languages import language_name, normalize_language
from gateway.protocol.forms import form_fields, json_object, validate
from gateway.protocol.transcriptions import TranscriptionRequest
from gateway.settings import DEFAULT_CONFIG, Settings
from models.errors import InvalidRequest
from models.options import VadParameters
from models.tokens import token_bytes


def test_brackets_arrays_and_objects():
    form = FormData([
        ("model", "whisper-1"), ("include[]", "logprobs"), ("timestamp_granularities[]", "word"),
        ("timestamp_granularities[]", "segment"), ("chunking_strategy[type]", "server_vad"),
        ("chunking_strategy[threshold]", "0.3"),
    ])
    values, files = form_fields(form, files=("file",), lists=("include", "timestamp_granularities"))
    assert values == {
        "model": "whisper-1", "include": ["logprobs"], "timestamp_granularities": ["word", "segment"],
        "chunking_strategy": {"type": "server_vad", "threshold": "0.3"},
    }
    assert files == {}


def test_plain_repeated_fields_and_json_objects():
    form = FormData([("include", "logprobs"), ("chunking_strategy", '{"type": "server_vad"}')])
    values, _ = form_fields(form, files=(), lists=("include",))
    json_object(values, "chunking_strategy")
    assert values == {"include": ["logprobs"], "chunking_strategy": {"type": "server_vad"}}


def test_validation_names_the_param():
    with pytest.raises(InvalidRequest) as caught:
        validate(TranscriptionRequest, {"model": "x", "temperature": "hot"})
    assert caught.value.param == "temperature"
    with pytest.raises(InvalidRequest) as caught:
        validate(TranscriptionRequest, {})
    assert caught.value.param == "model" and caught.value.code == "missing_required_parameter"


def test_chunking_strategy_auto_and_vad():
    auto = validate(TranscriptionRequest, {"model": "m", "chunking_strategy": "auto"})
    assert auto.vad() == VadParameters(threshold=0.5, prefix_padding_ms=400, silence_duration_ms=1000)
    vad = validate(
        TranscriptionRequest, {"model": "m", "chunking_strategy": {"type": "server_vad", "silence_duration_ms": "500"}}
    )
    assert vad.vad() == VadParameters(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=500)
    tuned = {"type": "server_vad", "threshold": "0.3", "prefix_padding_ms": "100", "silence_duration_ms": "800"}
    assert validate(TranscriptionRequest, {"model": "m", "chunking_strategy": tuned}).vad() == VadParameters(
        threshold=0.3, prefix_padding_ms=100, silence_duration_ms=800
    )
    with pytest.raises(InvalidRequest) as caught:
        validate(TranscriptionRequest, {"model": "m", "chunking_strategy": {"type": "server_vad", "threshold": "1.5"}})
    assert caught.value.param == "chunking_strategy"
    assert validate(TranscriptionRequest, {"model": "m"}).vad() is None


def test_languages():
    assert language_name("de") == "german"
    assert normalize_language("en-US") == "en" and normalize_language("German") == "de"
    assert normalize_language("xx") is None


def test_token_bytes():
    assert bytes(token_bytes("Ġhello")) == b" hello"
    assert bytes(token_bytes("Ã©")) == "é".encode()


def test_environment_overrides_config(monkeypatch):
    monkeypatch.setenv("GATEWAY_API_KEYS", "a, b")
    monkeypatch.setenv("GATEWAY_TRANSCRIPTION__QUEUE__MAX_QUEUE", "3")
    settings = Settings.load(DEFAULT_CONFIG)
    assert settings.api_keys == ["a", "b"]
    assert settings.transcription.queue.max_queue == 3
    assert settings.transcription.aliases["whisper-1"] == "base"  # the file still applies


def test_bad_alias_is_refused():
    with pytest.raises(ValueError, match="alias 'whisper-1' points at 'missing', which is not a configured model"):
        Settings.load(None, transcription={"aliases": {"whisper-1": "missing"}})


def test_missing_config_file():
    with pytest.raises(FileNotFoundError, match=r"/nonexistent/config\.yaml"):
        Settings.load("/nonexistent/config.yaml")


def test_latency_classes_in_the_config_file_are_the_defaults(tmp_path):
    from gateway.services import build_services

    from_file, defaults = Settings.load(DEFAULT_CONFIG), Settings.load(None)
    assert from_file.compute.latency == defaults.compute.latency
    for section in ("transcription", "speech", "diarization"):
        assert getattr(from_file, section).queue.latency == getattr(defaults, section).queue.latency
    services = build_services(Settings.load(DEFAULT_CONFIG, data_dir=str(tmp_path)))
    queues = {name: entry.queue.latency for name, entry in services.registry.entries.items()}
    assert queues == {"base": "bulk", "tiny.en": "bulk", "piper": "interactive", "diarize": "bulk"}
    assert services.voice_queue.latency == "interactive"
    assert services.budget.policy == defaults.compute.latency.policy()
    assert services.registry.entries["piper"].queue._line.policy is services.budget.policy
