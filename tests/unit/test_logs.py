"""Log lines: JSON objects with the request's fields, or readable text."""

import json
import logging

from gateway.logs import REQUEST_ID, JsonFormatter, RequestIdFilter, TextFormatter


def _record(name="gateway.access", msg="POST /v1/audio/transcriptions 200", **extra):
    record = logging.makeLogRecord({"name": name, "msg": msg, "levelname": "INFO", "levelno": 20, **extra})
    RequestIdFilter().filter(record)
    return record


def test_json_line_carries_the_access_fields():
    record = _record(request_id="req_1", method="POST", status=200, duration_ms=12.5, model="base", tenant="key_x")
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "POST /v1/audio/transcriptions 200"
    assert data["level"] == "info" and data["logger"] == "gateway.access"
    assert {k: data[k] for k in ("request_id", "method", "status", "duration_ms", "model", "tenant")} == {
        "request_id": "req_1",
        "method": "POST",
        "status": 200,
        "duration_ms": 12.5,
        "model": "base",
        "tenant": "key_x",
    }
    assert data["ts"].endswith("Z")


def test_records_inside_a_request_get_its_id():
    token = REQUEST_ID.set("req_abc")
    try:
        record = _record(name="models.whisper", msg="loaded")
    finally:
        REQUEST_ID.reset(token)
    assert json.loads(JsonFormatter().format(record))["request_id"] == "req_abc"
    assert TextFormatter().format(record).endswith("[req_abc]")


def test_text_access_line_is_key_value():
    record = _record(request_id="req_2", method="GET", path="/v1/models", status=200, duration_ms=1.0, tenant="default")
    line = TextFormatter().format(record)
    assert "status=200" in line and "tenant=default" in line and line.endswith("[req_2]")
