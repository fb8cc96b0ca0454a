"""Whatever a client sends in a form or a JSON field, parsing ends in a value or a 400 naming the field."""

from __future__ import annotations

from functools import partial

import pytest
from starlette.datastructures import FormData, Headers, UploadFile

from gateway.protocol.forms import MAX_JSON_DEPTH, form_fields, json_object, validate
from gateway.protocol.realtime import ClientSecretRequest, TranscriptionSession
from gateway.protocol.speech import SpeechRequest
from gateway.protocol.transcriptions import TranscriptionRequest
from models.errors import InvalidRequest

LISTS = ("include", "timestamp_granularities", "known_speaker_names", "known_speaker_references")


def _file(data: bytes = b"RIFF") -> UploadFile:
    import io

    return UploadFile(io.BytesIO(data), filename="a.wav", headers=Headers({"content-type": "audio/wav"}))


def _refused(call, param: str, code: str = "invalid_value") -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        call()
    assert caught.value.param == param, caught.value.message
    assert caught.value.code == code
    return caught.value


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 2000 + "]" * 2000,  # the instance: RecursionError inside json.loads
        '{"type": ' * 2000 + '"server_vad"' + "}" * 2000,
        '{"a": [[[[[[[[[[[[1]]]]]]]]]]]]}',  # deeper than MAX_JSON_DEPTH
        '{"type": "server_vad", "threshold": 1' + "0" * 5000 + "}",  # int too long for Python to convert
        '{"type": "server_vad",',  # cut short
        '{"type": "server_vad"}' + " " * 20_000,  # over the size bound
        "{\x00}",
    ],
)
def test_json_object_field_that_does_not_parse_is_400_naming_it(raw):
    values = {"chunking_strategy": raw}
    _refused(lambda: json_object(values, "chunking_strategy"), "chunking_strategy")


def test_json_object_field_within_bounds_parses():
    values = {"chunking_strategy": '{"type": "server_vad", "threshold": 0.3}'}
    json_object(values, "chunking_strategy")
    assert values["chunking_strategy"] == {"type": "server_vad", "threshold": 0.3}
    nested = {"x": "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH}
    json_object(nested, "x")
    assert isinstance(nested["x"], list)


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([("file", _file()), ("file", _file())], "file"),  # the instance: one was silently dropped
        ([("model", "whisper-1"), ("model", "tiny.en")], "model"),
        ([("language", "en"), ("language", "de")], "language"),
        ([("temperature", "0"), ("temperature", "0.5")], "temperature"),
        ([("chunking_strategy[type]", "server_vad"), ("chunking_strategy[type]", "auto")], "chunking_strategy"),
    ],
)
def test_a_single_valued_field_sent_twice_is_400(items, param):
    _refused(lambda: form_fields(FormData(items), files=("file",), lists=LISTS), param, "duplicate_parameter")


def test_list_fields_may_repeat_with_or_without_brackets():
    form = FormData(
        [("include", "logprobs"), ("timestamp_granularities[]", "word"), ("timestamp_granularities", "segment")]
    )
    values, _ = form_fields(form, files=(), lists=LISTS)
    assert values == {"include": ["logprobs"], "timestamp_granularities": ["word", "segment"]}


@pytest.mark.parametrize(
    ("items", "param"),
    [
        ([("chunking_strategy", "auto"), ("chunking_strategy[type]", "server_vad")], "chunking_strategy"),
        ([("a[b]", "1"), ("a[b][c]", "2")], "a"),  # was an AttributeError: a 500
        ([("model[]", "x"), ("model[]", "y")], "model"),  # a list where one value is taken
        ([("include[a]", "logprobs")], "include"),  # an object where a list is taken
        ([("file", "not a file")], "file"),
    ],
)
def test_shape_conflicts_are_400_naming_the_field(items, param):
    _refused(lambda: form_fields(FormData(items), files=("file",), lists=LISTS), param)


def test_empty_optional_fields_count_as_absent():
    empty = [("language", ""), ("temperature", ""), ("prompt", ""), ("response_format", "")]
    form = FormData([("model", "tiny.en"), *empty])
    values, _ = form_fields(form, files=(), lists=LISTS)
    body = validate(TranscriptionRequest, values)
    assert body.language is None and body.temperature == 0.0 and body.prompt is None and body.response_format == "json"
    vad = [("chunking_strategy[type]", "server_vad"), ("chunking_strategy[threshold]", "")]
    values, _ = form_fields(FormData([("model", "m"), *vad]), files=(), lists=LISTS)
    assert validate(TranscriptionRequest, values).vad().threshold == 0.5
    empty_model, _ = form_fields(FormData([("model", "")]), files=(), lists=LISTS)
    _refused(lambda: validate(TranscriptionRequest, empty_model), "model", "missing_required_parameter")



def test_empty_list_items_count_as_absent():
    items = [("include[]", ""), ("timestamp_granularities[]", ""), ("timestamp_granularities[]", "word")]
    form = FormData([("model", "tiny.en"), ("response_format", "verbose_json"), *items])
    values, _ = form_fields(form, files=(), lists=LISTS)
    assert "include" not in values and values["timestamp_granularities"] == ["word"]
    body = validate(TranscriptionRequest, values)
    assert not body.include and body.timestamp_granularities == ["word"]

@pytest.mark.parametrize("value", [True, False])
def test_booleans_are_not_numbers(value):
    speech = {"model": "tts-1", "voice": "alloy", "input": "Hello."}
    _refused(lambda: validate(SpeechRequest, {**speech, "speed": value}), "speed")
    assert validate(SpeechRequest, {**speech, "speed": 1}).speed == 1.0  # a JSON integer is a number
    _refused(lambda: validate(SpeechRequest, {**speech, "speed": "1.0"}), "speed")  # a JSON string is not
    vad = {"type": "server_vad", "threshold": value}
    _refused(lambda: validate(TranscriptionRequest, {"model": "m", "chunking_strategy": vad}), "chunking_strategy")
    vad = {"type": "server_vad", "silence_duration_ms": value}
    _refused(lambda: validate(TranscriptionRequest, {"model": "m", "chunking_strategy": vad}), "chunking_strategy")
    _refused(lambda: validate(TranscriptionRequest, {"model": "m", "temperature": value}), "temperature")


VAD_NUMBERS = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")


@pytest.mark.parametrize("value", [True, False, "600", "0.5"])
def test_realtime_json_numbers_are_numbers(value):
    """The Realtime JSON (client secrets, session.update) is read as strictly as the speech body: a
    boolean or a string is no number (`"silence_duration_ms": true` was read as 1 ms)."""
    _refused(lambda: validate(ClientSecretRequest, {"expires_after": {"seconds": value}}), "expires_after")
    inputs = [{"turn_detection": {"type": "server_vad", field: value}} for field in VAD_NUMBERS]
    inputs += [{"format": {"type": "audio/pcm", "rate": value}}, {"noise_reduction": {"strength": value}}]
    for audio_input in inputs:
        session = {"type": "transcription", "audio": {"input": audio_input}}
        _refused(partial(validate, TranscriptionSession, session), "audio")


def test_realtime_json_numbers_still_parse():
    assert validate(ClientSecretRequest, {"expires_after": {"seconds": 600.0}}).expires_after.seconds == 600
    vad = {"type": "server_vad", "threshold": 0.6, "silence_duration_ms": 700, "prefix_padding_ms": 0}
    session = {"type": "transcription", "audio": {"input": {"format": {"rate": 24000}, "turn_detection": vad}}}
    parameters = validate(TranscriptionSession, session).audio.input.turn_detection.parameters()
    assert (parameters.threshold, parameters.silence_duration_ms, parameters.prefix_padding_ms) == (0.6, 700, 0)


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", float("nan"), float("inf")])
def test_numbers_are_finite(value):
    """A form's "nan" (and JSON's NaN, which Python's parser reads) is said to be no number, not out of range."""
    caught = _refused(lambda: validate(TranscriptionRequest, {"model": "m", "temperature": value}), "temperature")
    assert caught.message == "Invalid value for 'temperature': must be a finite number."
    if isinstance(value, float):
        speech = {"model": "tts-1", "voice": "alloy", "input": "Hello.", "speed": value}
        assert _refused(lambda: validate(SpeechRequest, speech), "speed").message.endswith("must be a finite number.")


def test_numeric_form_strings_still_parse():
    vad = {"type": "server_vad", "silence_duration_ms": "500"}
    body = validate(TranscriptionRequest, {"model": "m", "temperature": "0.4", "chunking_strategy": vad})
    assert body.temperature == 0.4 and body.vad().silence_duration_ms == 500


@pytest.mark.parametrize(
    ("content_type", "parts", "reason"),
    [
        (b"multipart/form-data; boundary=b", 300, "Too many fields. Maximum number of fields is 200."),
        (b"multipart/form-data", 1, "Missing boundary in multipart."),
    ],
)
async def test_a_body_that_does_not_parse_is_one_clear_sentence(content_type, parts, reason):
    """starlette's own reason, once, without its "400: " or a doubled full stop (a new user's finding)."""
    from starlette.requests import Request

    from gateway.protocol.forms import read_form

    body = b"".join(b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i for i in range(parts))

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body + b"--b--\r\n", "more_body": False}

    request = Request({"type": "http", "method": "POST", "headers": [(b"content-type", content_type)]}, receive)
    with pytest.raises(InvalidRequest) as caught:
        await read_form(request)
    assert caught.value.message == f"Could not parse the multipart body: {reason}"
    assert caught.value.code == "invalid_multipart"


@pytest.mark.parametrize("value", ["0_5", "1e0", " 0.5 ", "0x1", "\u0661", "0.5.1", "+", ".", "1,5"])
@pytest.mark.parametrize("field", ["temperature", "threshold", "prefix_padding_ms"])
def test_form_numbers_are_plain_decimal_numbers(field, value):
    """float("0_5") is 5.0: a form number is ASCII digits with an optional sign and point, nothing else."""
    values: dict = {"model": "m", "temperature": value}
    param = "temperature"
    if field != "temperature":
        values, param = {"model": "m", "chunking_strategy": {"type": "server_vad", field: value}}, "chunking_strategy"
    caught = _refused(lambda: validate(TranscriptionRequest, values), param)
    assert "plain decimal number" in caught.message


@pytest.mark.parametrize(("value", "number"), [("0.5", 0.5), (".5", 0.5), ("1.", 1.0), ("-0", 0.0), ("+0.25", 0.25)])
def test_plain_decimal_numbers_are_read(value, number):
    assert validate(TranscriptionRequest, {"model": "m", "temperature": value}).temperature == number


@pytest.mark.parametrize(
    ("sent", "code"),
    [("iw", "he"), ("in", "id"), ("ji", "yi"), ("jw", "jv"), ("jv", "jv"), ("IW-il", "he"), ("javanese", "jv")],
)
def test_deprecated_language_codes_are_read_as_todays(sent, code):
    from gateway.languages import normalize_language, standard_code, whisper_code

    assert normalize_language(sent) == code
    request = validate(TranscriptionRequest, {"model": "m", "language": sent, "languages": [sent, code]})
    assert request.language == code and request.languages == [code]
    options = request.transcribe_options(5)
    assert options.language == whisper_code(code) and options.languages == (whisper_code(code),)  # `jw` for Whisper
    assert standard_code(options.language) == code


def test_detected_languages_are_reported_in_todays_codes():
    from types import SimpleNamespace

    from gateway.formats import languages_json

    assert languages_json(SimpleNamespace(languages=("jw", "he", "yue"))) == [  # type: ignore[arg-type]
        {"code": "jv"},
        {"code": "he"},
        {"code": "yue"},
    ]


@pytest.mark.parametrize(
    ("errors", "says"),
    [
        ([{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}], "body is missing"),
        ([{"type": "model_attributes_type", "loc": ("body",), "msg": "x", "input": b'{"a": 1}'}], "not read as JSON"),
        ([{"type": "model_attributes_type", "loc": ("body",), "msg": "x", "input": [1]}], "not a JSON array"),
        ([{"type": "missing", "loc": ("body", "model"), "msg": "Field required", "input": {}}], "parameter: 'model'"),
    ],
)
def test_a_body_that_is_no_object_is_named_so(errors, says):
    from gateway.protocol.validation import validation_problem

    problem = validation_problem(errors)
    assert says in problem.message and "None" not in problem.message


def test_every_long_quote_in_a_message_is_cut():
    from gateway.errors import envelope

    for message, length in [
        (f"Unsupported language: `{'x' * 5000}`.", 5000),
        (f"Invalid value for '{'a b ' * 300}': bad.", 1200),
        (f"Unrecognized request argument supplied: {'k' * 500}.", 500),
        ("y" * 100_000, 100_000),
    ]:
        cut = envelope(message, "invalid_request_error")["error"]["message"]
        assert len(cut) < 300 and f"... ({length} characters)" in cut, cut
    kept = "The model `whisper-1` doesn't take 'that' here; it won't."
    assert envelope(kept, "invalid_request_error")["error"]["message"] == kept
