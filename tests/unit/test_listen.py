"""`audio-gateway listen`'s pieces that need no server: the audio it sends and how it prints turns."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from gateway.cli import audio_source
from gateway.cli.listen import Printer
from tests.helpers import read_audio

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_file_becomes_100_ms_of_pcm16_at_24_khz_per_chunk():
    path = FIXTURES / "en_fox.flac"
    chunks = list(audio_source.chunks(str(path)))
    assert all(len(c) == audio_source.CHUNK_BYTES for c in chunks[:-1]) and 0 < len(chunks[-1]) <= 4800
    sent = np.frombuffer(b"".join(chunks), dtype="<i2").astype(np.float32) / 32768
    reference = read_audio(path, 24000)
    assert abs(len(sent) - len(reference)) < 240  # within 10 ms
    n = min(len(sent), len(reference))
    assert np.corrcoef(sent[:n], reference[:n])[0, 1] > 0.99  # the same audio, not just as long


def test_a_missing_file():
    with pytest.raises(FileNotFoundError, match=r"missing\.flac: no such file"):
        audio_source.chunks("missing.flac")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_turns_one_line_each_with_times():
    out = io.StringIO()
    printer = Printer(out, timestamps=True)
    printer.delta("item_1", "Hello")  # not shown without interim
    printer.completed("item_1", " Hello there. ", (0.3, 2.04))
    printer.completed("item_2", "  ", (3.0, 3.5))  # nothing heard: no line
    printer.completed("item_3", "Again.", (61.25, 63.0))
    assert out.getvalue() == "[0:00.3 - 0:02.0] Hello there.\n[1:01.2 - 1:03.0] Again.\n"


def test_interim_words_as_lines_or_one_terminal_line():
    out = io.StringIO()
    printer = Printer(out, interim=True)
    printer.delta("item_1", "The quick")
    printer.delta("item_1", " brown")
    printer.completed("item_1", "The quick brown fox.", (None, None))
    assert out.getvalue().splitlines() == ["… The quick", "… The quick brown", "The quick brown fox."]
    terminal = Terminal()
    printer = Printer(terminal, interim=True)
    printer.delta("item_1", "The quick")
    printer.completed("item_1", "The quick brown fox.", (None, None))
    assert terminal.getvalue() == "\r\x1b[K… The quick\r\x1b[KThe quick brown fox.\n"
