import subprocess
import sys
from pathlib import Path

import httpx
import openai
import pytest

from gateway.cli import build_parser
from gateway.cli.errors import CliError, server_message, translate
from gateway.cli.transcribe import _targets


def test_invalid_configuration_is_one_clear_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("compute:\n  cores: -1\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "audio-gateway: invalid configuration: compute.cores: Input should be greater than or equal to 0"
    ]


def test_missing_config_file():
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", "/nope.yaml"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "config file not found" in result.stderr


def test_output_names_follow_the_format_and_never_collide(tmp_path):
    files = [Path("a/talk.mp3"), Path("b/talk.flac"), Path("call.wav")]
    assert [p.name for p in _targets(files, tmp_path, "srt")] == ["talk.mp3.srt", "talk.flac.srt", "call.srt"]
    assert [p.name for p in _targets([Path("x.wav")], tmp_path, "text")] == ["x.txt"]
    assert _targets(files, None, "json") == [None, None, None]
    with pytest.raises(CliError):
        _targets([Path("a/x.wav"), Path("b/x.wav")], tmp_path, "vtt")


def test_server_message_reads_the_openai_envelope():
    request = httpx.Request("POST", "http://h/v1/audio/transcriptions")
    response = httpx.Response(400, request=request, json={"error": {"message": "Bad audio.", "param": "file"}})
    exc = openai.BadRequestError("Error code: 400", response=response, body={"message": "Bad audio.", "param": "file"})
    assert server_message(exc) == "server answered 400: Bad audio."
    refused = openai.APIConnectionError(request=request)
    refused.__cause__ = ConnectionRefusedError("[Errno 111] Connection refused")
    assert translate(refused).message == "cannot reach the server at http://h: [Errno 111] Connection refused"


def test_every_client_command_has_help():
    parser = build_parser()
    for command in ("transcribe", "speak", "models", "voices"):
        result = subprocess.run(
            [sys.executable, "-m", "gateway", command, "--help"], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0 and "--base-url" in result.stdout
    assert parser.parse_args(["speak", "hi", "-o", "x.mp3"]).voice == "alloy"


def test_pin_voice(tmp_path):
    from gateway.settings import Settings
    from gateway.storage import NewRecording, build_store

    config = tmp_path / "gateway.yaml"
    config.write_text(f"data_dir: {tmp_path}\n")
    store = build_store(Settings.load(config))
    store.open()
    audio = NewRecording(data=b"RIFF", duration=1.0)
    consent = store.create_consent(
        "t", name="c", language="en", phrase_language="en", heard="h", phrase="p", error_rate=0.0, recording=audio
    )
    voice = store.create_voice("t", name="v", consent_id=consent.id, sample=audio, max_voices=20, piper_voice="a")
    command = [sys.executable, "-m", "gateway", "pin-voice", "--config", str(config)]
    result = subprocess.run([*command, voice.id, "en_US-alice-medium"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    pinned = store.get_voice("t", voice.id)
    assert pinned.piper_voice == "en_US-alice-medium" and pinned.pinned
    result = subprocess.run([*command, "voice_missing", "x"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "No voice found" in result.stderr
    store.close()


def test_malloc_arenas_are_capped_unless_the_environment_says(monkeypatch):
    from gateway.server import limit_malloc_arenas

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas(2) is True  # glibc here
    assert limit_malloc_arenas(0) is False
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas(2) is False  # the operator's setting wins
