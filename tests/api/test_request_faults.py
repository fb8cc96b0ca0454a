"""Issue 12's parsing, error-path and upload faults, each with its siblings, against a real server.

Every answer is a complete response: 2xx or a 4xx envelope with a `code`, on a connection the
next request can use; a 500 (a fault injected on purpose) is logged with its own request id.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time

import httpx
import numpy as np
import openai
import pytest

from gateway.audio_io import MAX_STREAMS
from gateway.logs import RequestIdFilter
from tests.helpers import encode_unsized, many_tracks
from tests.rss import watch_rss

LIMIT_S = 60


def _error(response: httpx.Response, status: int, param: str | None, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"}
    assert body["param"] == param, body
    assert isinstance(body["code"], str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def _transcribe(server, fields: list[tuple[str, str]], files: list | None = None) -> httpx.Response:
    data = [(name, (None, value)) for name, value in fields]
    return httpx.post(f"{server.base_url}/audio/transcriptions", files=[*data, *(files or [])], timeout=120)


@pytest.fixture(scope="module")
def fox(fixture_audio) -> tuple[str, bytes, str]:
    return ("fox.flac", fixture_audio("en_fox.flac").read_bytes(), "audio/flac")


# -- 2: whatever a parser raises on client input is a 400 naming the field ---------------------


@pytest.mark.parametrize(
    "value",
    [
        "[" * 2000 + "]" * 2000,
        '{"type": ' * 2000 + '"server_vad"' + "}" * 2000,  # the instance: RecursionError escaped json.loads
        '{"type": "server_vad", "threshold": 1' + "0" * 5000 + "}",  # ValueError: int too long
        '{"type": "server_vad"',
    ],
)
def test_unparseable_chunking_strategy_is_400_naming_it(server, fox, value):
    response = _transcribe(server, [("model", "tiny.en"), ("chunking_strategy", value)], [("file", fox)])
    _error(response, 400, "chunking_strategy")


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,  # RecursionError in FastAPI's json.loads
        b'{"model": "tts-1", "voice": "alloy", "input": "hi", "speed": 1' + b"0" * 5000 + b"}",
        b'{"model": "tts-1", "voice": ' + b'{"id": ' * 5000 + b'"x"' + b"}" * 5000 + b', "input": "hi"}',
        b'{"model": "tts-1", "voice": "alloy", "input": "hi"',
        b"\xff\xfe not utf-8",
        b'{"model": "tts-1", "voice": "alloy", "input": "\\ud800"}',
    ],
)
def test_unparseable_json_bodies_are_400(server, body):
    response = httpx.post(
        f"{server.base_url}/audio/speech", content=body, headers={"content-type": "application/json"}, timeout=60
    )
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]  # OpenAI's envelope, not just some code
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error", error
    assert isinstance(error["code"], str) and error["code"] and error["message"], error


def test_known_speaker_reference_that_is_not_base64_audio_is_400(server, fox):
    for reference in ("data:audio/wav;base64,!!!!", "data:audio/wav;base64," + "A" * 4000, "https://example.com/a.wav"):
        response = _transcribe(
            server,
            [
                ("model", "gpt-4o-transcribe-diarize"),
                ("response_format", "diarized_json"),
                ("known_speaker_names[]", "agent"),
                ("known_speaker_references[]", reference),
            ],
            [("file", fox)],
        )
        _error(response, 400, "known_speaker_references")


def test_bad_query_and_header_values_are_400_or_ignored(server):
    response = httpx.get(f"{server.base_url}/audio/voice_consents", params={"limit": "true"})
    _error(response, 400, "limit", "invalid_value")
    response = httpx.get(f"{server.base_url}/audio/voice_consents", params={"limit": "9" * 400})
    _error(response, 400, "limit", "invalid_value")
    response = httpx.get(f"{server.base_url}/models", headers={"x-request-id": "x" * 5000})
    assert response.status_code == 200 and response.headers["x-request-id"].startswith("req_")


# -- 3: a 500 is a complete answer on a reusable connection, logged with its own id -------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(RequestIdFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_500_keeps_the_connection_and_logs_with_its_own_request_id(server, monkeypatch):
    registry = server.services.registry
    real = registry.get_served

    def faulty(model_id: str):  # the injected fault: a bug inside a route
        if model_id == "fault-injected":
            raise RuntimeError("injected fault")
        return real(model_id)

    monkeypatch.setattr(registry, "get_served", faulty)
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    access_logger = logging.getLogger("gateway.access")
    level = access_logger.level
    access_logger.setLevel(logging.INFO)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        answers = []
        for path, request_id in (
            ("/v1/models/whisper-1", "before-1"),
            ("/v1/models/fault-injected", "fault-2"),
            ("/v1/models/whisper-1", "after-3"),
            ("/v1/models/fault-injected", None),
        ):
            headers = {"x-request-id": request_id} if request_id else {}
            connection.request("GET", path, headers=headers)
            socket_before = connection.sock
            response = connection.getresponse()
            answers.append((response.status, dict(response.getheaders()), response.read()))
            assert connection.sock is socket_before, "the server closed the connection"
        connection.close()
        deadline = time.monotonic() + 10  # the access line is written just after the last byte is sent
        while sum(r.name == "gateway.access" for r in handler.records) < len(answers) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        root.removeHandler(handler)
        access_logger.setLevel(level)
    assert [status for status, _, _ in answers] == [200, 500, 200, 500]
    for status, headers, body in answers:
        assert headers.get("Connection", "").lower() != "close"
        if status == 500:
            error = json.loads(body)["error"]
            assert error["type"] == "server_error" and error["code"] == "internal_error"
    generated_id = answers[3][1]["x-request-id"]
    assert answers[1][1]["x-request-id"] == "fault-2" and generated_id.startswith("req_")
    errors = [r for r in handler.records if r.levelno >= logging.ERROR]
    assert [r.request_id for r in errors] == ["fault-2", generated_id], [(r.name, r.getMessage()) for r in errors]
    assert all(r.exc_info and "injected fault" in str(r.exc_info[1]) for r in errors)
    assert not [r for r in handler.records if r.name.startswith("uvicorn") and r.levelno >= logging.ERROR]
    access = {r.request_id: r.status for r in handler.records if r.name == "gateway.access"}
    assert access["fault-2"] == 500 and access[generated_id] == 500 and access["after-3"] == 200


# -- 5, 6: over-limit and over-crowded uploads cost a moment -----------------------------------


@pytest.fixture(scope="module")
def limited(start_server):
    return start_server(transcription={"max_audio_seconds": LIMIT_S})


@pytest.mark.parametrize("container", ["flac", "wav", "mp3", "ogg", "webm", "mp4", "mpeg"])
def test_long_upload_with_blank_length_is_audio_too_long(limited, container):
    audio = encode_unsized(np.zeros(8000 * LIMIT_S * 3, np.float32), container)
    sdk = openai.OpenAI(base_url=limited.base_url, api_key="x", max_retries=0, timeout=120)
    served_before = _audio_seconds(limited)
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.audio.transcriptions.create(model="tiny.en", file=("upload", audio), stream=stream)
        assert caught.value.code == "audio_too_long"
        assert caught.value.body["param"] == "file"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.audio.translations.create(model="base", file=("upload", audio))
    assert caught.value.code == "audio_too_long"
    assert _audio_seconds(limited) == served_before  # nothing was transcribed


def _audio_seconds(server) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("gateway_audio_seconds_total")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def test_upload_with_hundreds_of_tracks_is_refused(server):
    crowded = ("a.mp4", many_tracks(MAX_STREAMS * 64), "video/mp4")
    response = _transcribe(server, [("model", "tiny.en")], [("file", crowded)])
    _error(response, 400, "file", "too_many_streams")


def test_a_prompt_of_megabytes_is_read_from_its_end_in_bounded_memory(server, fox):
    """Whisper reads only a prompt's last 223 tokens; an 8 MB prompt was tokenized whole in every window
    (measured on a server process: +900 MiB resident, never given back; 6.7 s of CPU for one window)."""
    words = random.Random(12).choices(["weather", "report", "sunny", "morning", "rain", "river"], k=1_000_000)
    prompt = " ".join(words) + " The quick brown fox."
    fields = [("model", (None, "tiny.en")), ("prompt", (None, prompt)), ("file", fox)]
    built = httpx.Request("POST", f"{server.base_url}/audio/transcriptions", files=fields)
    body, headers = built.read(), {"content-type": built.headers["content-type"]}
    del words, prompt, fields, built  # built before measuring: this process is the client too
    assert _transcribe(server, [("model", "tiny.en"), ("prompt", "A fox.")], [("file", fox)]).status_code == 200
    with watch_rss() as rss:
        response = httpx.post(f"{server.base_url}/audio/transcriptions", content=body, headers=headers, timeout=120)
    assert response.status_code == 200, response.text[:300]
    assert "fox" in response.json()["text"].lower()
    # this process is the server and the client: without the cut it took +900-1,100 MiB and kept them
    assert rss.peak_growth_mib < 600, f"peak +{rss.peak_growth_mib:.0f} MiB"
    assert rss.kept_mib < 400, f"kept +{rss.kept_mib:.0f} MiB after the request"


# -- 9: no lax or surprising coercion ----------------------------------------------------------


def test_two_file_parts_are_400(server, fox):
    response = _transcribe(server, [("model", "tiny.en")], [("file", fox), ("file", fox)])
    _error(response, 400, "file", "duplicate_parameter")


@pytest.mark.parametrize("name", ["model", "language", "response_format", "temperature", "prompt", "stream"])
def test_repeated_single_valued_fields_are_400(server, fox, name):
    values = {"model": "tiny.en", "language": "en", "response_format": "json", "temperature": "0", "prompt": "p"}
    value = values.get(name, "false")
    fields = [("model", "tiny.en")] if name != "model" else []
    response = _transcribe(server, [*fields, (name, value), (name, value)], [("file", fox)])
    _error(response, 400, name, "duplicate_parameter")


def test_repeated_fields_on_every_form_endpoint(server, fox):
    translation = httpx.post(
        f"{server.base_url}/audio/translations",
        files=[("model", (None, "base")), ("prompt", (None, "a")), ("prompt", (None, "b")), ("file", fox)],
    )
    _error(translation, 400, "prompt", "duplicate_parameter")
    consent = httpx.post(
        f"{server.base_url}/audio/voice_consents",
        files=[("name", (None, "a")), ("name", (None, "b")), ("language", (None, "en")), ("recording", fox)],
    )
    _error(consent, 400, "name", "duplicate_parameter")
    voice = httpx.post(
        f"{server.base_url}/audio/voices",
        files=[("name", (None, "a")), ("consent", (None, "cons_1")), ("audio_sample", fox), ("audio_sample", fox)],
    )
    _error(voice, 400, "audio_sample", "duplicate_parameter")


def test_repeated_query_parameters_are_400(server):
    """A query parameter given twice is refused as a form field or JSON key given twice is (FastAPI kept
    the last of `?limit=1&limit=5` without a word)."""
    for query in ("limit=1&limit=5", "after=cons_a&after=cons_b"):
        response = httpx.get(f"{server.base_url}/audio/voice_consents?{query}")
        _error(response, 400, query.split("=")[0], "duplicate_parameter")
    assert httpx.get(f"{server.base_url}/audio/voice_consents?limit=5").status_code == 200


def test_empty_optional_form_fields_mean_not_set(server, fox):
    fields = [("model", "tiny.en"), ("language", ""), ("temperature", ""), ("prompt", ""), ("response_format", "")]
    response = _transcribe(server, fields, [("file", fox)])
    assert response.status_code == 200, response.text
    assert "fox" in response.json()["text"].lower()
    _error(_transcribe(server, [("model", "")], [("file", fox)]), 400, "model", "missing_required_parameter")


@pytest.mark.parametrize("field", ["speed"])
@pytest.mark.parametrize("value", [True, False])
def test_json_booleans_are_not_numbers(server, field, value):
    body = {"model": "tts-1", "voice": "alloy", "input": "Hello.", field: value}
    _error(httpx.post(f"{server.base_url}/audio/speech", json=body), 400, field, "invalid_value")
    vad = json.dumps({"type": "server_vad", "threshold": value})
    _error(_transcribe(server, [("model", "tiny.en"), ("chunking_strategy", vad)]), 400, "chunking_strategy")


# -- 10: every 4xx carries a code --------------------------------------------------------------


def test_every_4xx_has_a_code(server, fox):
    base = server.base_url
    answers = [
        _transcribe(server, [("model", "tiny.en"), ("language", "de")], [("file", fox)]),  # the instance
        httpx.post(f"{base}/audio/translations", files=[("model", (None, "tiny.en")), ("file", fox)]),
        _transcribe(server, [("model", "tiny.en")], [("file", ("a.wav", b"not audio", "audio/wav"))]),
        _transcribe(server, [("model", "nope")], [("file", fox)]),
        httpx.post(f"{base}/audio/transcriptions", json={"model": "tiny.en"}),
        httpx.post(f"{base}/audio/speech", json={"model": "tts-1", "voice": "nobody", "input": "hi"}),
        httpx.post(f"{base}/audio/speech", json={"model": "tts-1", "voice": "ash", "input": "a", "instructions": "x"}),
        httpx.post(f"{base}/audio/speech", json={"model": "tts-1", "voice": "alloy"}),
        httpx.post(f"{base}/audio/speech", content=b"{", headers={"content-type": "application/json"}),
        httpx.get(f"{base}/audio/voice_consents/cons_missing"),
        httpx.post(f"{base}/audio/voice_consents/cons_missing", json={"name": "x"}),
        httpx.delete(f"{base}/audio/voices/voice_missing"),
        httpx.get(f"{base}/audio/voice_consents", params={"after": "nonsense"}),
        httpx.get(f"{base}/models/nope"),
        httpx.get(f"{base}/nothing-here"),
        httpx.put(f"{base}/audio/speech"),
        httpx.post(f"{base}/audio/voices", files=[("name", (None, "x")), ("type", (None, "prompt"))]),
    ]
    for response in answers:
        assert 400 <= response.status_code < 500, (response.request.url, response.text)
        error = response.json()["error"]
        assert isinstance(error["code"], str) and error["code"], (response.request.url, error)


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/audio/speech", b'{"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": 1, "speed": true}', "speed"),
        ("/audio/speech", b'{"model": "tts-1", "model": "tts-1-hd", "voice": "alloy", "input": "Hi."}', "model"),
        ("/audio/speech", b'{"model": "tts-1", "voice": {"id": "a", "id": "b"}, "input": "Hi."}', "id"),
        ("/audio/voice_consents/cons_x", b'{"name": "a", "name": "b"}', "name"),
    ],
)
def test_json_keys_given_twice_are_400(server, path, body, param):
    response = httpx.post(f"{server.base_url}{path}", content=body, headers={"content-type": "application/json"})
    _error(response, 400, param, "duplicate_parameter")


def test_long_values_are_not_echoed_whole(server, fox):
    model = "m" * 500_000
    for response in (
        _transcribe(server, [("model", model)], [("file", fox)]),
        httpx.post(f"{server.base_url}/audio/speech", json={"model": model, "voice": "alloy", "input": "Hi."}),
        _transcribe(server, [("model", "tiny.en"), ("language", "x" * 500_000)], [("file", fox)]),
    ):
        assert 400 <= response.status_code < 500
        assert len(response.json()["error"]["message"]) <= 2000
    as_file = ("model.txt", b"m" * (2 * 1024 * 1024), "text/plain")
    _error(_transcribe(server, [], [("model", as_file), ("file", fox)]), 400, "model", "invalid_value")


def test_a_stream_broken_after_its_start_is_cut_and_logged_with_its_id(server):
    """An audio stream cannot be made whole once it has begun: the connection is closed under it (a
    client sees a broken response, never a short one that looks complete), and every line logged about
    it, uvicorn's included, carries its id."""
    from fastapi.responses import StreamingResponse

    async def chunks():
        yield b"first chunk"
        raise RuntimeError("injected fault mid-stream")

    async def broken():  # the injected fault: a stream whose producer fails after its first chunk
        return StreamingResponse(chunks(), media_type="audio/mpeg")

    path = "/v1/test-fault/broken-stream"
    server.app.add_api_route(path, broken, methods=["GET"])
    handler = _Records()
    loggers = [logging.getLogger(), logging.getLogger("uvicorn")]  # the test server's uvicorn does not propagate
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{server.url}{path}", headers={"x-request-id": "broken-stream-1"}, timeout=30)
        deadline = time.monotonic() + 10
        while not [r for r in handler.records if r.name.startswith("uvicorn")] and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        server.app.router.routes[:] = [r for r in server.app.router.routes if getattr(r, "path", None) != path]
    errors = [r for r in handler.records if r.levelno >= logging.ERROR]
    assert errors and {r.request_id for r in errors} == {"broken-stream-1"}, [(r.name, r.getMessage()) for r in errors]
    assert httpx.get(f"{server.base_url}/models").status_code == 200
