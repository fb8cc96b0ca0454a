"""The playground's live captions in a real browser (Debian's headless chromium): Chromium's fake
microphone plays a real recording in a loop, the page streams it through its AudioWorklet
(pcm16 at 24 kHz) over /v1/realtime, and the captions are waited for and read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.helpers import encode, read_audio, word_error_rate
from tests.system.support import open_playground, screenshot

READING = Path(__file__).resolve().parents[1] / "fixtures" / "pocketsphinx_librivox"
AUSTEN = "sense_and_sensibility_01_austen_64kb-0870"  # a real LibriVox reading, 7 s
TEXT = (READING / f"{AUSTEN}.txt").read_text().strip()


@pytest.fixture(scope="module")
def microphone_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What this module's fake microphone hears, looped: the reading, then two seconds of silence (48 kHz WAV)."""
    samples = read_audio(READING / f"{AUSTEN}.wav", rate=48000)
    path = tmp_path_factory.mktemp("microphone") / "austen_48k.wav"
    path.write_bytes(encode(np.concatenate([samples, np.zeros(2 * 48000, np.float32)]), "wav", rate=48000))
    return path


def best_turn(turns: list[dict]) -> tuple[float, str]:
    """The completed turn closest to the reading (the loop may have begun mid-sentence)."""
    return min((word_error_rate(TEXT, turn["transcript"]), turn["transcript"]) for turn in turns)


def test_live_captions_from_the_microphone(server, page):
    open_playground(page, server.url)
    assert page.input_value("#live-model") == "whisper-1"
    page.select_option("#live-model", "tiny.en")
    page.fill("#live-language", "en")
    page.click("#live-start")
    page.wait_for_selector("#live-start[aria-pressed=true]")
    assert page.inner_text("#live-status").startswith("Listening (tiny.en)")
    # two turns: at least one holds the whole reading wherever the loop was when the microphone opened
    page.wait_for_function("window.playground.live.turns.length >= 2", timeout=180_000)
    live = page.evaluate("window.playground.live")
    assert live["connected"] and live["sessionId"].startswith("sess_")
    assert live["chunks"] > 100  # 100 ms appends: more than ten seconds were streamed
    error, heard = best_turn(live["turns"])
    assert error < 0.3, (heard, TEXT)
    # words were shown while the turn was still spoken, and they are the start of what it became
    # (an interim decode of the first second or two of a turn may mishear its words, as tiny.en does with
    # "Mr. John" -> "Good job": so the best of them is checked, and any one of them may differ)
    interim = [turn for turn in live["turns"] if turn["interim"]]
    assert interim, live["turns"]
    starts = [
        word_error_rate(" ".join(turn["transcript"].split()[: len(turn["interim"].split())]), turn["interim"])
        for turn in interim
    ]
    assert min(starts) < 0.5, interim
    # every completed turn is a caption line, in order
    captions = page.eval_on_selector_all("#live-captions .turn:not(.interim)", "ps => ps.map(p => p.textContent)")
    assert captions[: len(live["turns"])] == [turn["transcript"] for turn in live["turns"] if turn["transcript"]]
    screenshot(page, "playground-live.png")
    page.click("#live-start")
    page.wait_for_selector("body[data-live-stopped]", timeout=60_000)
    assert not page.evaluate("window.playground.live.connected")
    assert page.inner_text("#live-status").startswith("Stopped")
    assert page.is_hidden("#live-error")


def test_live_captions_with_an_api_key(start_server, page):
    """The key goes as the `openai-insecure-api-key.` subprotocol; a wrong one is refused and said so."""
    server = start_server(api_keys=["sk-live"], transcription={"models": {"base": {"preload": False}}})
    open_playground(page, server.url)
    page.fill("#api-key", "sk-wrong")
    page.press("#api-key", "Enter")
    page.click("#live-start")
    page.wait_for_selector("#live-error:visible")
    assert "refused the live connection" in page.inner_text("#live-error")
    assert page.inner_text("#live-start") == "● Start"
    # Chromium itself logs the refused handshake on the console; that line is the browser's, not the page's
    page.errors[:] = [e for e in page.errors if "WebSocket connection to" not in e]
    page.fill("#api-key", "sk-live")
    page.press("#api-key", "Enter")
    page.wait_for_function("document.getElementById('live-model').options.length > 0")
    page.select_option("#live-model", "tiny.en")
    page.click("#live-start")
    page.wait_for_selector("#live-start[aria-pressed=true]")
    page.wait_for_function("window.playground.live.chunks >= 10")
    assert page.evaluate("window.playground.live.errors") == []
    page.click("#live-start")
    page.wait_for_selector("body[data-live-stopped]", timeout=60_000)
