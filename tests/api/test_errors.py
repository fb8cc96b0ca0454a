"""Bad input gets OpenAI's error envelope with the right status, and the server keeps serving."""

from __future__ import annotations

import io
import threading

import httpx
import numpy as np
import openai
import pytest

from tests.helpers import encode
from tests.holds import hold_transcription


def _assert_envelope(error: openai.APIStatusError, status: int, type_: str, param: str | None = None) -> None:
    assert error.status_code == status
    body = error.response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert body["type"] == type_ and body["message"]
    if param is not None:
        assert body["param"] == param
    assert error.response.headers["x-request-id"]
    assert error.response.headers["content-type"] == "application/json"


def test_unknown_model_is_404_model_not_found(client, fixture_audio):
    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.transcriptions.create(model="no-such-model", file=fixture_audio("en_fox.flac"))
    _assert_envelope(caught.value, 404, "invalid_request_error", "model")
    assert caught.value.code == "model_not_found"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"response_format": "xml"}, "response_format"),
        ({"temperature": 2}, "temperature"),
        ({"timestamp_granularities": ["word"]}, "timestamp_granularities"),  # needs verbose_json
        ({"include": ["logprobs"], "response_format": "text"}, "include"),
        ({"chunking_strategy": {"type": "client_vad"}}, "chunking_strategy"),
        ({"language": "klingon"}, "language"),
        ({"stream": "maybe"}, "stream"),
    ],
)
def test_invalid_parameters_are_400_with_param(client, fixture_audio, fields, param):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"), extra_body=fields)
    _assert_envelope(caught.value, 400, "invalid_request_error", param)


@pytest.mark.parametrize(
    ("fields", "named", "reason"),
    [
        # an object that fails a union names the nested field, not the union's first branch ("auto")
        ({"chunking_strategy": {"type": "server_vad", "threshold": 1.5}}, "chunking_strategy.threshold", "less than 1"),
        ({"chunking_strategy": {"type": "client_vad"}}, "chunking_strategy.type", "'server_vad'"),
        ({"chunking_strategy": "manual"}, "chunking_strategy", "'auto'"),
    ],
)
def test_a_bad_nested_field_is_named_in_the_message(client, fixture_audio, fields, named, reason):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"), extra_body=fields)
    message = caught.value.response.json()["error"]["message"]
    assert f"'{named}'" in message and reason in message, message


def test_a_parameter_the_endpoint_does_not_take_is_named(client, fixture_audio):
    """`keywords` is a transcription parameter; translations refuse it with OpenAI's words."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.translations.create(
            model="whisper-1", file=fixture_audio("en_fox.flac"), extra_body={"keywords": ["Acme"]}
        )
    body = caught.value.response.json()["error"]
    assert body == {
        "message": "Unrecognized request argument supplied: keywords.",
        "type": "invalid_request_error",
        "param": "keywords",
        "code": "unknown_parameter",
    }


def test_validator_messages_carry_no_pydantic_prefix(client):
    """A validator's own reason reaches the caller as written, without pydantic's "Value error, "."""
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="alloy", input="\u200b\u200b")  # nothing to say
    body = caught.value.response.json()["error"]
    assert body["param"] == "input" and "Value error" not in body["message"], body
    assert body["message"].startswith("Invalid value for 'input': "), body


def test_a_huge_unknown_model_id_is_not_echoed_in_full(client, fixture_audio):
    with pytest.raises(openai.NotFoundError) as caught:
        client.audio.transcriptions.create(model="m" * 100_000, file=fixture_audio("en_fox.flac"))
    message = caught.value.response.json()["error"]["message"]
    assert len(message) < 300 and "m" * 200 + "..." in message


def test_missing_model_and_file(server):
    response = httpx.post(f"{server.base_url}/audio/transcriptions", files={"file": ("a.wav", b"RIFF")})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"
    response = httpx.post(f"{server.base_url}/audio/transcriptions", files={"model": (None, "whisper-1")})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "file"


def test_json_body_is_refused_clearly(server):
    response = httpx.post(f"{server.base_url}/audio/transcriptions", json={"model": "whisper-1"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"this is not audio at all" * 100, "invalid_value"),
        (b"", "empty_file"),
        (encode(np.zeros(800, np.float32), "wav"), "audio_too_short"),  # 0.05 s
    ],
)
def test_bad_audio_is_400(client, payload, code):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(model="tiny.en", file=("a.wav", payload))
    _assert_envelope(caught.value, 400, "invalid_request_error", "file")
    assert caught.value.code == code


def test_upload_over_25_mib_is_413(client):
    big = io.BytesIO(b"\0" * (25 * 1024 * 1024 + 1))
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.transcriptions.create(model="tiny.en", file=("big.wav", big))
    _assert_envelope(caught.value, 413, "invalid_request_error")


def test_huge_body_is_refused_before_it_is_read(server):
    # Content-Length far over the limit: answered from the headers alone.
    body = b"\0" * (40 * 1024 * 1024)
    response = httpx.post(
        f"{server.base_url}/audio/transcriptions",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=x"},
        timeout=60,
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def _chunked_multipart(fields: dict[str, str], file_bytes: bytes, boundary: str = "rubyboundary"):
    """Ruby's client: chunked transfer, no Content-Length, text parts as text/plain."""
    for name, value in fields.items():
        yield (
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n"
            f"Content-Type: text/plain\r\n\r\n{value}\r\n"
        ).encode()
    yield (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for start in range(0, len(file_bytes), 65536):
        yield file_bytes[start : start + 65536]
    yield f"\r\n--{boundary}--\r\n".encode()


def test_chunked_multipart_without_content_length(server, fixture_audio):
    audio = fixture_audio("en_weather.flac").read_bytes()
    response = httpx.post(
        f"{server.base_url}/audio/transcriptions",
        content=_chunked_multipart({"model": "tiny.en", "response_format": "text"}, audio),
        headers={"content-type": "multipart/form-data; boundary=rubyboundary"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    assert "weather" in response.text.lower()


def test_chunked_body_over_the_limit_is_413(server):
    response = httpx.post(
        f"{server.base_url}/audio/transcriptions",
        content=_chunked_multipart({"model": "tiny.en"}, b"\0" * (30 * 1024 * 1024)),
        headers={"content-type": "multipart/form-data; boundary=rubyboundary"},
        timeout=120,
    )
    error = openai.APIStatusError("413", response=response, body=response.json())
    _assert_envelope(error, 413, "invalid_request_error")
    body = response.json()["error"]
    assert body["code"] in ("request_too_large", "file_too_large") and "bytes" in body["message"], body


def test_unknown_route_is_enveloped(server):
    response = httpx.get(f"{server.base_url}/audio/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"
    assert response.headers["x-request-id"]


def test_request_id_on_success_and_echoed(client, server, fixture_audio):
    raw = client.audio.transcriptions.with_raw_response.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    assert raw.headers["x-request-id"].startswith("req_")
    response = httpx.get(f"{server.base_url}/models", headers={"x-request-id": "trace-123"})
    assert response.headers["x-request-id"] == "trace-123"


def test_server_keeps_serving_after_bad_input(client, fixture_audio):
    for payload in (b"garbage", b"", b"RIFF\x00\x00"):
        with pytest.raises(openai.BadRequestError):
            client.audio.transcriptions.create(model="tiny.en", file=("a.wav", payload))
    result = client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    assert "weather" in result.text.lower()


def test_api_keys(start_server, fixture_audio):
    server = start_server(api_keys=["key-one", "key-two"])
    bad = openai.OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        bad.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_weather.flac"))
    _assert_envelope(caught.value, 401, "authentication_error")
    missing = httpx.get(f"{server.base_url}/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"
    good = openai.OpenAI(base_url=server.base_url, api_key="key-two", max_retries=0)
    assert any(m.id == "whisper-1" for m in good.models.list())
    assert httpx.get(f"{server.url}/health").status_code == 200  # no key needed


def test_full_queue_answers_429_with_retry_after(start_server, fixture_audio, monkeypatch):
    server = start_server(transcription={"queue": {"max_parallel": 1, "max_queue": 0, "retry_after_s": 3}})
    clip = fixture_audio("en_fox.flac").read_bytes()
    sdk = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, timeout=300)
    entry = server.services.registry.entries[server.services.registry.served["whisper-1"].worker]
    hold = hold_transcription(monkeypatch, entry.worker)  # the only place stays taken until released
    served: list[object] = []
    busy = threading.Thread(
        target=lambda: served.append(sdk.audio.transcriptions.create(model="whisper-1", file=("a.flac", clip)))
    )
    busy.start()
    limited = []
    try:
        hold.wait_reached()
        for _ in range(2):
            with pytest.raises(openai.RateLimitError) as caught:
                sdk.audio.transcriptions.create(model="whisper-1", file=("a.flac", clip))
            limited.append(caught.value)
    finally:
        hold.release.set()
        busy.join()
    assert len(served) == 1 and "quick brown fox" in served[0].text.lower()
    for error in limited:
        _assert_envelope(error, 429, "rate_limit_error")
        assert error.response.headers["retry-after"] == "3"
        assert error.response.headers["retry-after-ms"] == "3000"


def test_uploads_are_closed_when_the_request_ends(client, fixture_audio):
    """Every spooled upload is closed by the server once its request ends, answered, streamed or refused
    (none is left to the garbage collector, which warns `unclosed file <SpooledTemporaryFile>`)."""
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"))
        events = client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"), stream=True)
        assert [e.type for e in events][-1] == "transcript.text.done"
        with pytest.raises(openai.BadRequestError):
            client.audio.transcriptions.create(model="tiny.en", file=fixture_audio("en_fox.flac"), temperature=3)
        gc.collect()
    leaks = [str(w.message) for w in caught if "SpooledTemporaryFile" in str(w.message)]
    assert not leaks, leaks


def _cut(message: str, length: int) -> None:
    """A client's value is quoted at most 200 characters long, with `...` and its length."""
    assert len(message) < 400 and f"... ({length} characters)" in message, message[:500]


@pytest.mark.parametrize(
    ("endpoint", "fields", "length"),
    [
        ("transcriptions", {"model": "whisper-1", "languages[]": "x" * 5000}, 5000),
        ("transcriptions", {"model": "whisper-1", "language": "x" * 5000}, 5000),
        ("transcriptions", {"model": "whisper-1", "k" * 1000: "1"}, 1000),  # an unknown field name (< 4 KiB: a header)
        ("translations", {"model": "t " * 3000}, 6000),  # a model id with spaces, quoted in backticks
    ],
)
def test_client_values_in_form_errors_are_cut(server, fixture_audio, endpoint, fields, length):
    audio = fixture_audio("en_fox.flac").read_bytes()
    response = httpx.post(
        f"{server.base_url}/audio/{endpoint}", files={"file": ("a.flac", audio)}, data=fields, timeout=120
    )
    assert response.status_code in (400, 404)
    _cut(response.json()["error"]["message"], length)


@pytest.mark.parametrize(
    ("body", "length"),
    [
        ({"model": "m" * 100_000, "voice": "alloy", "input": "hi"}, 100_000),
        ({"model": "tts-1", "voice": "v" * 5000, "input": "hi"}, 5000),
    ],
)
def test_client_values_in_json_errors_are_cut(client, body, length):
    with pytest.raises(openai.APIStatusError) as caught:
        client.audio.speech.create(**body)
    _cut(caught.value.response.json()["error"]["message"], length)


def test_an_unknown_json_key_is_cut(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="alloy", input="hi", extra_body={"k" * 5000: 1})
    error = caught.value.response.json()["error"]
    _cut(error["message"], 5000)
    assert error["param"].startswith("k" * 200 + "...") and len(error["param"]) < 250, len(error["param"])


@pytest.mark.parametrize(
    ("content", "headers", "says"),
    [
        (b"{}", {"content-type": "application/json"}, "Missing required parameter: 'model'."),
        (b'{"model": "tts-1"}', {"content-type": "application/json"}, "Missing required parameter: 'input'."),
        (b'{"model": "tts-1", "input": "hi"}', {"content-type": "application/json"}, "parameter: 'voice'."),
        (b"", {"content-type": "application/json"}, "The request body is missing: send a JSON object"),
        (b"[1, 2]", {"content-type": "application/json"}, "must be a JSON object sent with `Content-Type: app"),
        (b'"hi"', {"content-type": "application/json"}, "not a JSON string"),
        (
            b'{"model": "tts-1", "voice": "alloy", "input": "hi"}',
            {"content-type": "text/plain"},
            "was not read as JSON: send a JSON object sent with `Content-Type: application/json`",
        ),
    ],
)
def test_a_speech_body_that_is_not_a_json_object_says_so(server, content, headers, says):
    response = httpx.post(f"{server.base_url}/audio/speech", content=content, headers=headers)
    assert response.status_code == 400
    body = response.json()["error"]
    assert says in body["message"] and "None" not in body["message"], body
    assert body["type"] == "invalid_request_error" and body["code"]


def _multipart(fox: bytes, *, cut: int | None = None, close: bytes = b"--xx--\r\n") -> bytes:
    body = (
        b'--xx\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n'
        b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.flac"\r\n'
        b"Content-Type: audio/flac\r\n\r\n" + fox + b"\r\n" + close
    )
    return body if cut is None else body[:cut]


@pytest.mark.parametrize(
    "shape",
    ["cut_in_the_file", "cut_before_the_close", "broken_close", "no_close", "cut_in_headers", "file_first_broken"],
)
def test_an_incomplete_multipart_body_is_a_400_saying_so(server, fixture_audio, shape):
    """python-multipart stops quietly where the body stops: the part it was reading was lost, and the
    answer said "Missing required parameter: 'file'" (or 'model', for a broken closing boundary)."""
    fox = fixture_audio("en_fox.flac").read_bytes()
    content = {
        "cut_in_the_file": _multipart(fox, cut=200 + len(fox) // 2),
        "cut_before_the_close": _multipart(fox, close=b""),
        "broken_close": _multipart(fox, close=b"--x"),
        "no_close": _multipart(fox, close=b"--xx\r\n"),
        "cut_in_headers": _multipart(fox, cut=120),
        "file_first_broken": (
            b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.flac"\r\n\r\n' + fox
            + b'\r\n--xx\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--x'
        ),
    }[shape]
    with httpx.Client(base_url=server.base_url, timeout=120) as http:
        headers = {"content-type": "multipart/form-data; boundary=xx"}
        response = http.post("/audio/transcriptions", content=content, headers=headers)
        assert response.status_code == 400, response.text
        body = response.json()["error"]
        assert body["code"] == "invalid_multipart" and "incomplete or malformed" in body["message"], body
        # the connection stays usable, and the whole body is transcribed
        whole = http.post("/audio/transcriptions", content=_multipart(fox), headers=headers)
        assert whole.status_code == 200 and "fox" in whole.json()["text"].lower()


@pytest.mark.parametrize("value", ["0_5", "1e0", " 0.5 ", "0x1", "\uff11", "\u0660.5", "0.5.1", "+", "0,5"])
@pytest.mark.parametrize(
    "field", ["temperature", "chunking_strategy[threshold]", "chunking_strategy[silence_duration_ms]"]
)
def test_form_numbers_are_plain_decimal_numbers(server, fixture_audio, field, value):
    """Python's float() reads "0_5" as 5 and "1e0" as 1: every numeric form field takes a plain decimal number."""
    fields = {"model": "whisper-1", field: value}
    if field.startswith("chunking_strategy"):
        fields["chunking_strategy[type]"] = "server_vad"
    files = {"file": ("a.flac", fixture_audio("en_fox.flac").read_bytes())}
    response = httpx.post(f"{server.base_url}/audio/transcriptions", files=files, data=fields, timeout=120)
    assert response.status_code == 400, response.text
    body = response.json()["error"]
    assert body["param"] == field.split("[")[0] and "plain decimal number" in body["message"], body


@pytest.mark.parametrize("field", ["known_speaker_names", "known_speaker_references"])
def test_known_speakers_on_a_model_that_does_not_diarize(client, fixture_audio, field):
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.transcriptions.create(
            model="whisper-1", file=fixture_audio("en_fox.flac"), extra_body={field: ["agent"]}
        )
    body = caught.value.response.json()["error"]
    assert body["param"] == field and "does not diarize" in body["message"], body
    assert "gpt-4o-transcribe-diarize" in body["message"]
