"""A bounded fuzz run in CI: a few hundred hostile inputs, built with a fixed seed, against one real
server process over one keep-alive connection.

Mutated uploads of every container (bit flips, truncation, header corruption, concatenation, spliced
junk), malformed multipart bodies and malformed JSON bodies. Every answer must be a 2xx or a 4xx
envelope with a `code`, on the same connection, from a server that is still alive and whose resident
memory stays within a bound. The figures (inputs, answers by status class, memory) are written to
tests/.artifacts/fuzz.json; docs/robustness.md quotes them.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import FIXTURES, free_port
from tests.helpers import CONTAINERS, encode, encode_unsized, read_audio
from tests.system.support import ARTIFACTS, REPO

SEED = 20261130
MUTATIONS_PER_CONTAINER = 24
FORM = "multipart/form-data; boundary=fuzzboundary"
RSS_GROWTH_LIMIT_MIB = 300
"""How far the server's resident memory may rise above its warmed-up level during the run."""


@dataclass
class Case:
    kind: str  # upload | multipart | json
    name: str
    method: str
    path: str
    body: bytes
    headers: dict[str, str]


class GatewayProcess:
    """`python -m gateway serve` with tiny.en and Piper, as its own process (its RSS is its own)."""

    def __init__(self, tmp: Path, cache_dir: Path):
        self.port = free_port()
        config = {
            "data_dir": str(tmp / "data"),
            "cache_dir": str(cache_dir),
            "log_level": "warning",
            "transcription": {
                "models": {"tiny.en": {"embedded": "whisper-tiny.en", "preload": True}},
                "aliases": {"whisper-1": "tiny.en"},
                "queue": {"max_parallel": 1, "max_queue": 4},
                "beam_size": 1,  # garbage audio decoded greedily: the run is about the edge, not the decoder
            },
            "consents": {"transcription_model": "tiny.en"},
            "diarization": {"enabled": False},
        }
        path = tmp / "fuzz.yaml"
        path.write_text(yaml.safe_dump(config))
        self.log = (tmp / "gateway.log").open("w")
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GATEWAY_"))}
        environment["PYTHONPATH"] = str(REPO)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--config", str(path)],
            stdout=self.log, stderr=subprocess.STDOUT, env=environment, cwd=tmp,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while not self.ready():
            assert self.process.poll() is None, (tmp / "gateway.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the gateway did not become ready"
            time.sleep(0.2)

    def ready(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                pass
        except OSError:
            return False
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/health/ready")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (a figure the machine's load does not change)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[GatewayProcess]:
    process = GatewayProcess(tmp_path_factory.mktemp("fuzz"), data_dir / "cache")
    yield process
    process.stop()


# -- the inputs ----------------------------------------------------------------------------------


def _multipart(parts: list[tuple[str, str | None, str | None, bytes]], boundary: str = "fuzzboundary") -> bytes:
    """(name, filename, content type, value) parts -> a multipart/form-data body."""
    out = []
    for name, filename, content_type, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        out.append(head.encode("utf-8", "surrogateescape") + b"\r\n" + value + b"\r\n")
    return b"".join(out) + f"--{boundary}--\r\n".encode()


def _upload_case(name: str, audio: bytes) -> Case:
    fields = [("model", None, None, b"tiny.en"), ("response_format", None, None, b"text")]
    # a fixed temperature: no fallback ladder of six decodes on audio that is noise
    fields.append(("temperature", None, None, b"0.3"))
    body = _multipart([*fields, ("file", "upload", "application/octet-stream", audio)])
    return Case("upload", name, "POST", "/v1/audio/transcriptions", body, {"content-type": FORM})


def _mutate(rng: random.Random, data: bytes, others: list[bytes]) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "flip", "truncate", "header", "header", "concat", "splice", "repeat"])
    buffer = bytearray(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 32)):
            position = rng.randrange(len(buffer))
            buffer[position] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        buffer = buffer[: rng.randrange(1, len(buffer))]
    elif kind == "header":
        span = min(len(buffer), 256)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(span)
            width = rng.randint(1, 8)
            filler = rng.choice([b"\x00", b"\xff", bytes([rng.randrange(256)])])
            buffer[position : position + width] = filler * width
    elif kind == "concat":
        buffer += rng.choice(others)
    elif kind == "splice":
        position = rng.randrange(len(buffer))
        buffer[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4096)))
    else:  # the same file several times over
        buffer = buffer * rng.randint(2, 6)
    return kind, bytes(buffer)


def upload_cases(rng: random.Random) -> list[Case]:
    clip = read_audio(FIXTURES / "en_fox.flac")[: 16000 * 2]
    silence = np.zeros(16000 * 2, np.float32)
    bases = {name: encode(clip, name) for name in CONTAINERS}
    bases |= {f"{name}-unsized": encode_unsized(silence, name) for name in ("flac", "webm", "mp4", "mp3")}
    others = list(bases.values())
    cases = []
    for name, data in bases.items():
        count = MUTATIONS_PER_CONTAINER if "-unsized" not in name else MUTATIONS_PER_CONTAINER // 3
        for index in range(count):
            kind, mutated = _mutate(rng, data, others)
            cases.append(_upload_case(f"{name}/{kind}/{index}", mutated))
    return cases


def multipart_cases(rng: random.Random) -> list[Case]:
    audio = (FIXTURES / "en_fox.flac").read_bytes()
    good = [("model", None, None, b"tiny.en"), ("file", "a.flac", "audio/flac", audio)]
    form = FORM
    deep_key = "chunking_strategy" + "[a]" * 5000
    bodies: list[tuple[str, bytes, str]] = [
        ("no boundary parameter", _multipart(good), "multipart/form-data"),
        ("wrong boundary", _multipart(good), "multipart/form-data; boundary=other"),
        ("empty boundary", _multipart(good), "multipart/form-data; boundary="),
        ("boundary of 5000 chars", _multipart(good, "b" * 5000), "multipart/form-data; boundary=" + "b" * 5000),
        ("no closing boundary", _multipart(good)[:-20], form),
        ("empty body", b"", form),
        ("only the closing boundary", b"--fuzzboundary--\r\n", form),
        ("junk body", bytes(rng.randrange(256) for _ in range(4096)), form),
        ("two file parts", _multipart([*good, good[1]]), form),
        ("two model parts", _multipart([good[0], *good]), form),
        ("field name of 100 KB", _multipart([*good, ("x" * 100_000, None, None, b"1")]), form),
        ("field name of 100 KB, as a file", _multipart([("x" * 100_000, "f", None, b"1"), *good]), form),
        ("header line of 200 KB", _multipart([("model", None, "text/plain; x=" + "y" * 200_000, b"m"), good[1]]), form),
        ("nested brackets 5000 deep", _multipart([*good, (deep_key, None, None, b"1")]), form),
        ("bracket soup", _multipart([*good, ("a[b]", None, None, b"1"), ("a[b][c]", None, None, b"2")]), form),
        ("unbalanced brackets", _multipart([*good, ("include[", None, None, b"x"), ("]x[", None, None, b"y")]), form),
        ("300 fields", _multipart([*good, *[(f"f{i}", None, None, b"v") for i in range(300)]]), form),
        ("20 files", _multipart([*good, *[(f"f{i}", "x", "audio/flac", b"x") for i in range(20)]]), form),
        ("field value of 9 MB", _multipart([*good, ("prompt", None, None, b"a" * 9_000_000)]), form),
        ("part without a name", _multipart(good).replace(b'name="model"', b""), form),
        ("part without headers", b"--fuzzboundary\r\n\r\nvalue\r\n--fuzzboundary--\r\n", form),
        ("non-utf8 field name", _multipart([*good, ("\udcff\udcfe", None, None, b"v")]), form),
        ("non-utf8 value", _multipart([("model", None, None, b"\xff\xfe\x00"), good[1]]), form),
        ("NUL in value", _multipart([("model", None, None, b"tiny\x00.en"), good[1]]), form),
        ("CRLF in field name", _multipart([*good, ("a\r\nContent-Type: x", None, None, b"v")]), form),
        ("file given as text", _multipart([good[0], ("file", None, None, b"not a file")]), form),
        ("text given as file", _multipart([("model", "m.txt", "text/plain", b"tiny.en"), good[1]]), form),
        ("empty fields", _multipart([*good, *[(name, None, None, b"") for name in ("language", "temperature")]]), form),
        ("chunking_strategy 2000 deep", _multipart([*good, ("chunking_strategy", None, None, b"[" * 2000)]), form),
        ("huge number", _multipart([*good, ("temperature", None, None, b"1" * 5000)]), form),
        ("nan temperature", _multipart([*good, ("temperature", None, None, b"nan")]), form),
        ("json content type", json.dumps({"model": "tiny.en"}).encode(), "application/json"),
        ("text/plain", _multipart(good), "text/plain"),
        ("no content type", _multipart(good), ""),
        ("urlencoded", b"model=tiny.en&file=abc&" + b"x=" * 5000, "application/x-www-form-urlencoded"),
        ("urlencoded junk", bytes(rng.randrange(256) for _ in range(2048)), "application/x-www-form-urlencoded"),
        ("multipart/mixed", _multipart(good), "multipart/mixed; boundary=fuzzboundary"),
        ("charset soup", _multipart(good), "multipart/form-data; boundary=fuzzboundary; charset=utf-99"),
    ]
    cases = []
    for path in ("/v1/audio/transcriptions", "/v1/audio/translations", "/v1/audio/voice_consents", "/v1/audio/voices"):
        chosen = bodies if path == "/v1/audio/transcriptions" else rng.sample(bodies, 8)
        for name, body, content_type in chosen:
            headers = {"content-type": content_type} if content_type else {}
            cases.append(Case("multipart", f"{path}: {name}", "POST", path, body, headers))
    return cases


def json_values(rng: random.Random) -> list[bytes]:
    speech = {"model": "tts-1", "voice": "alloy", "input": "Hi."}
    return [
        b"[" * 100_000 + b"]" * 100_000,
        b"{" * 50_000,
        b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
        json.dumps({**speech, "voice": {"id": {"id": {"id": "x"}}}}).encode(),
        json.dumps({**speech, "speed": True}).encode(),
        json.dumps({**speech, "speed": "1.0"}).encode(),
        json.dumps({**speech, "speed": None}).encode(),
        json.dumps({**speech, "speed": [1]}).encode(),
        b'{"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": NaN}',
        b'{"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": Infinity}',
        b'{"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": 1' + b"0" * 5000 + b"}",
        b'{"model": "tts-1", "voice": "alloy", "input": "Hi.", "speed": 1e999999}',
        json.dumps({**speech, "input": 5}).encode(),
        json.dumps({**speech, "input": ["Hi."]}).encode(),
        json.dumps({**speech, "input": "x" * 5000}).encode(),
        json.dumps({**speech, "voice": 7}).encode(),
        json.dumps({**speech, "voice": {}}).encode(),
        json.dumps({**speech, "response_format": "mp3" * 1000}).encode(),
        json.dumps({**speech, "extra": {"deep": [[[[[]]]]]}}).encode(),
        json.dumps({**speech, "stream_format": True}).encode(),
        b'{"model": "tts-1", "voice": "alloy", "input": "\\ud800\\udfff\\ud800"}',
        b'{"model": "tts-1", "model": 5, "voice": "alloy", "input": "Hi."}',
        b"\xef\xbb\xbf" + json.dumps(speech).encode(),
        json.dumps(speech).encode("utf-16"),
        b"null",
        b"[]",
        b'"just a string"',
        b"",
        b"{}",
        bytes(rng.randrange(256) for _ in range(1024)),
    ]


def json_cases(rng: random.Random) -> list[Case]:
    values = json_values(rng)
    headers = {"content-type": "application/json"}
    cases = [Case("json", f"speech #{i}", "POST", "/v1/audio/speech", body, headers) for i, body in enumerate(values)]
    for index, body in enumerate(rng.sample(values, 10)):
        cases.append(Case("json", f"consent rename #{index}", "POST", "/v1/audio/voice_consents/cons_x", body, headers))
    for index, body in enumerate(rng.sample(values, 6)):
        cases.append(Case("json", f"json to a form #{index}", "POST", "/v1/audio/transcriptions", body, headers))
    return cases


def realtime_messages(rng: random.Random) -> list[str | bytes]:
    """Client events of a Realtime transcription session: the JSON bodies above as text frames, and
    events that parse but carry what a session does not take."""

    def update(input_: object) -> str:
        return json.dumps({"type": "session.update", "session": {"audio": {"input": input_}}})

    pcm = base64.b64encode(bytes(rng.randrange(256) for _ in range(4800))).decode()
    events: list[str | bytes] = [
        '{"type": "session.update", "session": ' + '{"a": ' * 900 + "1" + "}" * 901,
        '{"type": "input_audio_buffer.append", "audio": "' + "A" * 3 + '"}',
        json.dumps({"type": "input_audio_buffer.append", "audio": "!!!not base64"}),
        json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(b"\x01").decode()}),
        json.dumps({"type": "input_audio_buffer.append", "audio": pcm}),
        json.dumps({"type": "input_audio_buffer.append", "audio": ["x"]}),
        json.dumps({"type": "input_audio_buffer.commit"}),
        json.dumps({"type": "input_audio_buffer.commit", "event_id": "x" * 100_000}),
        json.dumps({"type": "response.create"}),
        json.dumps({"type": None}),
        json.dumps({"type": "session.update", "session": None}),
        json.dumps({"type": "session.update", "session": {"type": "realtime"}}),
        update({"turn_detection": {"type": "server_vad", "silence_duration_ms": True}}),
        update({"turn_detection": {"type": "server_vad", "threshold": "NaN"}}),
        update({"turn_detection": {"type": "semantic_vad", "eagerness": "x" * 10_000}}),
        update({"turn_detection": None}),
        update({"format": {"type": "audio/pcmu", "rate": 8000}}),
        update({"format": {"type": "audio/pcm", "rate": 16000}}),
        update({"transcription": {"model": "nope\u0000", "language": "xx"}}),
        update({"transcription": {"prompt": "p" * 500_000}}),
        update({"noise_reduction": {"type": "far_field", "strength": True}}),
        b"\x00\x01 a binary frame",
        "",
    ]
    return [*(value.decode("utf-8", "replace") for value in json_values(rng)), *events]


# -- the run -------------------------------------------------------------------------------------


def _send(connection: http.client.HTTPConnection, case: Case) -> tuple[int, dict[str, str], bytes]:
    connection.request(case.method, case.path, body=case.body, headers=case.headers)
    response = connection.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


@pytest.mark.slow
def test_hostile_inputs_get_2xx_or_4xx_envelopes_on_one_connection(gateway: GatewayProcess):
    rng = random.Random(SEED)
    cases = upload_cases(rng) + multipart_cases(rng) + json_cases(rng)
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=300)
    # warm up: one real transcription and one speech, so the baseline holds what serving needs
    speech = json.dumps({"model": "tts-1", "voice": "alloy", "input": "Warm up."}).encode()
    for warm in (
        _upload_case("warm", (FIXTURES / "en_fox.flac").read_bytes()),
        Case("json", "warm", "POST", "/v1/audio/speech", speech, {"content-type": "application/json"}),
    ):
        status, _, body = _send(connection, warm)
        assert status == 200, body[:500]
    baseline = peak = gateway.rss_mib()
    cpu_before = gateway.cpu_seconds()
    spent: Counter[str] = Counter()
    other: list[str] = []  # multipart and JSON inputs answered other than 400
    statuses: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    failures: list[str] = []
    started = time.monotonic()
    for case in cases:
        sock = connection.sock
        sent = time.monotonic()
        try:
            status, headers, body = _send(connection, case)
            spent[case.kind] += time.monotonic() - sent
        except (OSError, http.client.HTTPException) as exc:
            failures.append(f"{case.name}: no answer ({exc!r})")
            connection.close()
            continue
        statuses[f"{status // 100}xx"] += 1
        if case.kind != "upload" and status != 400:
            other.append(f"{status} {case.name}")
        by_kind.setdefault(case.kind, Counter())[str(status)] += 1
        if connection.sock is not sock or headers.get("connection", "").lower() == "close":
            failures.append(f"{case.name}: connection not kept ({status})")
        if not (200 <= status < 300 or 400 <= status < 500):
            failures.append(f"{case.name}: status {status}: {body[:300]!r}")
        elif status >= 400:
            try:
                error = json.loads(body)["error"]
                assert set(error) == {"message", "type", "param", "code"} and error["message"] and error["code"]
            except (ValueError, KeyError, AssertionError, TypeError):
                failures.append(f"{case.name}: {status} without a proper envelope: {body[:300]!r}")
        peak = max(peak, gateway.rss_mib())
        assert gateway.process.poll() is None, f"the server died on {case.name}"
    seconds = time.monotonic() - started
    connection.close()
    assert gateway.ready(), "the server no longer answers /health/ready"
    figures = {
        "seed": SEED,
        "inputs": len(cases),
        "by_kind": {kind: sum(counts.values()) for kind, counts in by_kind.items()},
        "answers_by_class": dict(sorted(statuses.items())),
        "answers_by_kind_and_status": {kind: dict(sorted(c.items())) for kind, c in by_kind.items()},
        "rss_mib": {"baseline": round(baseline), "peak": round(peak), "after": round(gateway.rss_mib())},
        "seconds": round(seconds, 1),
        "seconds_by_kind": {kind: round(value, 1) for kind, value in spent.items()},
        "server_cpu_seconds": round(gateway.cpu_seconds() - cpu_before, 1),
        "load_average": os.getloadavg()[0],
        "not_400": other,
        "failures": failures,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "fuzz.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))
    assert not failures, "\n".join(failures[:40])
    assert peak - baseline < RSS_GROWTH_LIMIT_MIB, figures["rss_mib"]


@pytest.mark.slow
def test_hostile_realtime_events_get_error_events_on_one_session(gateway: GatewayProcess):
    """Every client event gets its answer, an error event with the whole envelope and a `code` when it is
    refused, and the session stays open: a probe after each one is answered on the same socket."""
    from websockets.sync.client import connect

    messages = realtime_messages(random.Random(SEED))
    answers: Counter[str] = Counter()
    failures: list[str] = []
    url = f"ws://127.0.0.1:{gateway.port}/v1/realtime?intent=transcription"
    with connect(url, max_size=None, open_timeout=60) as ws:
        assert json.loads(ws.recv(timeout=60))["type"] == "session.created"
        for index, message in enumerate(messages):
            ws.send(message)
            ws.send(json.dumps({"type": "input_audio_buffer.clear", "event_id": f"probe-{index}"}))
            while True:  # until the probe's answer: every event before it answers the fuzzed one
                event = json.loads(ws.recv(timeout=120))
                if event["type"] == "input_audio_buffer.cleared":
                    break
                answers[event["type"] if event["type"] != "error" else event["error"]["code"] or "no code"] += 1
                if event["type"] == "error":
                    error = event["error"]
                    if set(error) != {"message", "type", "param", "code", "event_id"} or not error["code"]:
                        failures.append(f"#{index}: {error}")
                    if error["type"] not in ("invalid_request_error", "not_found_error"):
                        failures.append(f"#{index}: {error['type']}: {error['message'][:200]}")
    assert gateway.process.poll() is None and gateway.ready()
    print(json.dumps({"messages": len(messages), "answers": dict(answers)}, indent=2))
    assert not failures, "\n".join(failures)
    assert sum(answers.values()) >= len(messages) - 3  # a valid append or clear-free update may say nothing
