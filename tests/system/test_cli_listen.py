"""`audio-gateway listen FILE|-` run as a process: live transcription through /v1/realtime against a real
server (`--base-url`) and in-process (`--config`), on real and synthetic recordings.

Audio is sent faster than real time (`--speed`) to keep the tests short; turn detection works on
audio time, so the turns do not depend on the pace.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.helpers import encode, read_audio, word_error_rate
from tests.system.support import REPO, one_line, run_cli

FOX = "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer."
WEATHER = "Today the weather is sunny and warm. Tomorrow it will rain in the morning."
LIBRIVOX = REPO / "tests" / "fixtures" / "pocketsphinx_librivox"
AUSTEN = "sense_and_sensibility_01_austen_64kb-0870"  # a real LibriVox reading, 7 s


def run_with_bytes(*args: str, stdin: bytes, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """`python -m gateway ARGS` with binary standard input (run_cli's is text)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "GATEWAY_"))}
    environment["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        check=False, input=stdin, capture_output=True, timeout=timeout, cwd=REPO,
        env=environment,
    )  # fmt: skip


@pytest.fixture(scope="module")
def url(server) -> list[str]:
    return ["--base-url", server.base_url]


@pytest.fixture(scope="module")
def two_turns(tmp_path_factory) -> Path:
    """en_weather, 1.5 s of silence, en_fox, as FLAC: two turns for server VAD."""
    fixtures = REPO / "tests" / "fixtures"
    weather, fox = read_audio(fixtures / "en_weather.flac"), read_audio(fixtures / "en_fox.flac")
    pause = np.zeros(24000, np.float32)
    path = tmp_path_factory.mktemp("listen") / "two_turns.flac"
    path.write_bytes(encode(np.concatenate([pause[:8000], weather, pause, fox]), "flac"))
    return path


def test_listen_prints_each_turn_as_it_completes(url, two_turns):
    result = run_cli("listen", str(two_turns), "--model", "tiny.en", "--speed", "4", "--timestamps", *url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2, result.stdout
    spans = [re.match(r"\[(\d+):(\d\d\.\d) - (\d+):(\d\d\.\d)\] (.+)", line) for line in lines]
    assert all(spans), lines
    assert word_error_rate(WEATHER, spans[0].group(5)) < 0.2, lines[0]
    assert word_error_rate(FOX, spans[1].group(5)) < 0.2, lines[1]
    times = [60 * int(m.group(i)) + float(m.group(i + 1)) for m in spans for i in (1, 3)]
    assert times == sorted(times) and times[0] < 1.0 and times[2] > 5.0, times  # the fox starts after the weather
    assert result.stderr == ""


@pytest.mark.parametrize("how", ["wav", "flac", "raw 16 kHz"])
def test_listen_to_standard_input(url, how):
    """A real reading piped in: as WAV or FLAC (recognised by its first bytes) or raw pcm16 at --rate."""
    samples = read_audio(LIBRIVOX / f"{AUSTEN}.wav")
    if how == "raw 16 kHz":
        audio, extra = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), ["--rate", "16000"]
    else:
        audio, extra = encode(samples, how), []
    result = run_with_bytes("listen", "-", "--model", "tiny.en", "--speed", "4", *extra, *url, stdin=audio)
    assert result.returncode == 0, result.stderr.decode()
    heard = result.stdout.decode()
    expected = (LIBRIVOX / f"{AUSTEN}.txt").read_text()
    assert word_error_rate(expected, heard) < 0.25, heard


def test_interim_words_come_before_the_turn_completes(url, fixture_audio):
    """A thirty-second turn: its words so far are shown (`… ` lines) before its transcript."""
    result = run_cli("listen", str(fixture_audio("en_story.flac")), "--model", "tiny.en", "--speed", "2",
                     "--interim", *url)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    interim = [line[2:] for line in lines if line.startswith("… ")]
    final = [line for line in lines if not line.startswith("… ")]
    assert len(final) == 1 and lines[-1] == final[0], lines
    assert interim, "no words before the turn ended"
    for earlier, later in itertools.pairwise(interim):
        assert later.startswith(earlier), (earlier, later)  # the words so far only grow
    spoken = final[0].split()[: len(interim[-1].split())]
    assert word_error_rate(" ".join(spoken), interim[-1]) < 0.3, (interim[-1], final[0])


def test_errors_are_one_line(url, tmp_path, fixture_audio):
    missing = run_cli("listen", "missing.flac", *url)
    assert missing.returncode == 2 and one_line(missing.stderr) == "audio-gateway: missing.flac: no such file"
    notes = tmp_path / "notes.flac"
    notes.write_text("these are not sounds\n")
    refused = run_cli("listen", str(notes), *url)
    assert refused.returncode == 2
    assert one_line(refused.stderr).startswith(f"audio-gateway: {notes}: cannot decode")
    unknown = run_cli("listen", str(fixture_audio("en_fox.flac")), "--model", "whisper-9", *url)
    assert unknown.returncode == 1
    assert one_line(unknown.stderr) == (
        "audio-gateway: the server refused the session: "
        "The model `whisper-9` does not exist or you do not have access to it."
    )
    assert unknown.stdout == ""
    gone = run_cli("listen", str(fixture_audio("en_fox.flac")), "--base-url", "http://127.0.0.1:9/v1", timeout=120)
    assert gone.returncode == 1
    assert one_line(gone.stderr).startswith("audio-gateway: cannot reach the server at http://127.0.0.1:9: ")


def test_the_key_from_the_environment_or_the_option(start_server, fixture_audio):
    server = start_server(api_keys=["sk-listen"], transcription={"models": {"base": {"preload": False}}})
    fox = str(fixture_audio("en_fox.flac"))
    refused = run_cli("listen", fox, "--base-url", server.base_url, "--api-key", "sk-wrong")
    assert refused.returncode == 1
    assert one_line(refused.stderr) == "audio-gateway: server answered 401: Incorrect API key provided."
    accepted = run_cli("listen", fox, "--model", "tiny.en", "--speed", "8", "--base-url", server.base_url,
                       env={"OPENAI_API_KEY": "sk-listen"})  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert word_error_rate(FOX, accepted.stdout) < 0.2, accepted.stdout


def test_in_process(data_dir, tmp_path, fixture_audio):
    settings = yaml.safe_load((REPO / "configs" / "default.yaml").read_text())
    settings["data_dir"] = str(data_dir)
    settings["transcription"]["models"]["base"]["preload"] = False
    config = tmp_path / "gateway.yaml"
    config.write_text(yaml.safe_dump(settings))
    result = run_cli("listen", str(fixture_audio("en_fox.flac")), "--model", "tiny.en", "--speed", "8",
                     "--config", str(config))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert word_error_rate(FOX, result.stdout) < 0.2, result.stdout
