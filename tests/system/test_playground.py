"""The playground page in a real browser (Debian's headless chromium) against a real server:
upload or record real speech, watch the transcript stream in, click the timeline, run the
"copy as curl / Python" commands, hear synthesised speech, see speakers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.helpers import encode, read_audio, sdk, word_error_rate
from tests.system.support import open_playground, screenshot

FOX = "The quick brown fox jumps over the lazy dog. Speech recognition works on my own computer."
WEATHER = "Today the weather is sunny and warm. Tomorrow it will rain in the morning."
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def choose(page, file: Path, model: str = "tiny.en", fmt: str = "json", stream: bool = True) -> None:
    page.set_input_files("#file", str(file))
    page.select_option("#stt-model", model)
    page.select_option("#stt-format", fmt)
    page.set_checked("#stt-stream", stream)


def transcribe(page) -> None:
    page.click("#transcribe")
    page.wait_for_selector("body[data-transcribed]")


def test_upload_and_watch_the_transcript_stream(server, page, fixture_audio):
    open_playground(page, server.url)
    models = page.eval_on_selector_all("#stt-model option", "options => options.map(o => o.value)")
    assert {"whisper-1", "base", "tiny.en"} <= set(models)
    assert page.input_value("#stt-model") == "whisper-1"
    choose(page, fixture_audio("en_fox.flac"))
    with page.expect_response("**/v1/audio/transcriptions") as answer:
        page.click("#transcribe")
    assert answer.value.headers["content-type"].startswith("text/event-stream")
    page.wait_for_selector("body[data-transcribed]")
    assert word_error_rate(FOX, page.inner_text("#transcript")) < 0.3
    assert page.is_hidden("#stt-error")
    assert page.inner_text("#stt-status").startswith("Done in ")
    screenshot(page, "playground-transcript.png")


def test_every_control_has_a_label(server, page):
    open_playground(page, server.url)
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, textarea, button')]
             .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
             .map(el => el.outerHTML)"""
    )
    assert unlabelled == []


@pytest.fixture(scope="module")
def two_sentences(tmp_path_factory) -> Path:
    """en_fox, a pause, en_weather: two segments, the second starting after 7 s."""
    fox, weather = read_audio(FIXTURES / "en_fox.flac"), read_audio(FIXTURES / "en_weather.flac")
    path = tmp_path_factory.mktemp("audio") / "two_sentences.flac"
    path.write_bytes(encode(np.concatenate([fox, np.zeros(16000, np.float32), weather]), "flac"))
    return path


def test_timeline_segment_plays_that_moment(server, page, two_sentences):
    open_playground(page, server.url)
    choose(page, two_sentences, fmt="verbose_json", stream=False)
    page.check("#stt-words")
    transcribe(page)
    segments = page.locator("#segments li")
    assert segments.count() >= 2
    assert page.locator("#timeline button").count() == segments.count()
    last = page.evaluate("window.playground.transcription.segments.at(-1)")
    assert last["start"] > 5
    page.locator("#timeline button").last.click()
    page.wait_for_function("!document.getElementById('source-audio').paused")
    position = page.evaluate("document.getElementById('source-audio').currentTime")
    assert last["start"] - 0.1 <= position <= last["end"] + 0.5
    raw = page.text_content("#stt-raw")
    assert '"words"' in raw and '"segments"' in raw
    screenshot(page, "playground-timeline.png")


# Injected for the test: counts the chunks the page's MediaRecorder delivers (one per 250 ms of
# recording, the timeslice transcribe.js asks for), so that the test waits on what was recorded.
COUNT_RECORDED_CHUNKS = """
(() => {
  const Recorder = window.MediaRecorder;
  if (!Recorder) return;
  window.recordedChunks = 0;
  window.MediaRecorder = class extends Recorder {
    constructor(...args) {
      super(...args);
      this.addEventListener("dataavailable", (e) => { if (e.data.size) window.recordedChunks += 1; });
    }
  };
})();
"""


def test_record_from_the_microphone(server, page):
    page.add_init_script(COUNT_RECORDED_CHUNKS)
    open_playground(page, server.url)
    page.click("#record")
    page.wait_for_selector("#record[aria-pressed=true]")
    # The fake microphone loops en_fox (6.4 s) and a second of silence: 15 s of recording hold one
    # whole sentence wherever the loop was when recording began.
    page.wait_for_function("window.recordedChunks >= 60")
    page.click("#record")
    page.wait_for_selector("#transcribe:enabled")
    assert page.inner_text("#source-name").startswith("recording.webm")
    page.select_option("#stt-model", "tiny.en")
    transcribe(page)
    heard = page.inner_text("#transcript").lower()
    assert "quick brown fox" in heard, heard


def run_snippet(kind: str, code: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    command = ["bash", "-c", code] if kind == "curl" else [sys.executable, "-c", code]
    environment = {**os.environ, **(env or {})}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=environment)
    assert result.returncode == 0, f"{code}\n---\n{result.stderr}"
    return result.stdout


def copy(page, panel: str, lang: str) -> str:
    page.click(f"button.copy[data-panel={panel}][data-lang={lang}]")
    code = page.inner_text("#code")
    page.wait_for_function("document.getElementById('code-note').textContent.startsWith('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == code
    return code


def test_copy_as_curl_and_python_are_commands_that_work(server, page, fixture_audio):
    open_playground(page, server.url)
    choose(page, fixture_audio("en_weather.flac"), fmt="text", stream=False)
    page.fill("#stt-language", "en")
    curl = copy(page, "stt", "curl")
    assert "-F response_format=text" in curl and "-F language=en" in curl and "Authorization" not in curl
    assert word_error_rate(WEATHER, run_snippet("curl", curl, FIXTURES)) < 0.3
    page.select_option("#stt-format", "json")
    page.set_checked("#stt-stream", True)
    python = copy(page, "stt", "python")
    assert "stream=True" in python
    assert word_error_rate(WEATHER, run_snippet("python", python, FIXTURES)) < 0.3


def test_api_key_is_asked_for_kept_and_used(start_server, page, fixture_audio):
    server = start_server(api_keys=["sk-play"], transcription={"models": {"base": {"preload": False}}})
    open_playground(page, server.url)
    assert page.inner_text("#server-status") == "Enter the server's API key."
    page.fill("#api-key", "sk-play")
    page.press("#api-key", "Enter")
    page.wait_for_function("document.getElementById('stt-model').options.length > 0")
    page.reload()
    page.wait_for_function("window.playground.ready")
    assert page.input_value("#api-key") == "sk-play"  # kept in localStorage
    assert page.inner_text("#server-status").endswith("model ids served.")
    choose(page, fixture_audio("en_fox.flac"), fmt="srt", stream=False)
    transcribe(page)
    assert "-->" in page.inner_text("#transcript") and "quick brown fox" in page.inner_text("#transcript").lower()
    curl = copy(page, "stt", "curl")
    assert '-H "Authorization: Bearer $OPENAI_API_KEY"' in curl and "sk-play" not in curl
    srt = run_snippet("curl", curl, FIXTURES, env={"OPENAI_API_KEY": "sk-play"})
    cue_text = " ".join(line for line in srt.splitlines() if line[:1].isalpha())  # not numbers nor times
    assert "-->" in srt and word_error_rate(FOX, cue_text) < 0.3, srt


def test_a_refused_request_shows_the_servers_message(server, page, tmp_path):
    notes = tmp_path / "notes.flac"
    notes.write_text("not audio at all\n")
    open_playground(page, server.url)
    choose(page, notes, stream=False)
    page.click("#transcribe")
    page.wait_for_selector("#stt-error:visible")
    # the server's own words, as the API gives them for the same upload
    refused = httpx.post(
        f"{server.base_url}/audio/transcriptions", files={"file": ("notes.flac", notes.read_bytes())},
        data={"model": "tiny.en"}, timeout=60,
    )  # fmt: skip
    assert refused.status_code == 400
    shown = page.inner_text("#stt-error")
    assert refused.json()["error"]["message"] in shown and "(HTTP 400)" in shown


# -- speech and diarization ----------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "mode"), [("pcm", "Web Audio"), ("mp3", "MediaSource"), ("wav", "whole file")])
def test_speech_streams_and_plays(server, page, fmt, mode, tmp_path):
    open_playground(page, server.url)
    assert page.locator("#tts-voice option").count() >= 13
    page.fill("#tts-input", "The quick brown fox jumps over the lazy dog.")
    page.select_option("#tts-voice", "nova")
    page.select_option("#tts-format", fmt)
    page.click("#speak")
    page.wait_for_function("window.playground.speech.played", timeout=120_000)
    heard = page.evaluate("window.playground.speech")
    assert heard["format"] == fmt and heard["mode"].startswith(mode)
    assert heard["bytes"] > 10_000 and heard["chunks"] >= 1 and heard["done"]
    assert 1.0 < heard["playedSeconds"] < 10
    # what the page offers for download is the sentence, spoken (heard by the server's own Whisper)
    with page.expect_download() as download:
        page.click("#tts-download")
    data = Path(download.value.path()).read_bytes()
    if fmt == "pcm":
        data = encode(np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768, "wav", rate=24_000)
    heard = sdk(server).audio.transcriptions.create(model="whisper-1", file=(f"speech.{fmt}", data)).text
    assert word_error_rate("The quick brown fox jumps over the lazy dog.", heard) < 0.25, heard
    if fmt == "mp3":
        screenshot(page, "playground-speech.png")
        for kind in ("curl", "python"):  # each snippet writes speech.mp3: the sentence, spoken
            (tmp_path / "speech.mp3").unlink(missing_ok=True)
            run_snippet(kind, copy(page, "tts", kind), tmp_path)
            snippet = (tmp_path / "speech.mp3").read_bytes()
            heard = sdk(server).audio.transcriptions.create(model="whisper-1", file=("speech.mp3", snippet)).text
            assert word_error_rate("The quick brown fox jumps over the lazy dog.", heard) < 0.25, (kind, heard)


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory) -> Path:
    """Two speakers: Piper's joe (en_fox), then an espeak-ng voice saying another sentence."""
    folder = tmp_path_factory.mktemp("two_voices")
    other = folder / "other.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-gb+f3", "-s", "150", "-w", str(other), "The shipment arrived two days late again."],
        check=True,
    )
    fox = read_audio(FIXTURES / "en_fox.flac")
    pause = np.zeros(16000, np.float32)
    path = folder / "two_voices.flac"
    path.write_bytes(encode(np.concatenate([fox, pause, read_audio(other), pause, fox]), "flac"))
    return path


def test_diarized_speakers_on_the_timeline(server, page, two_voices):
    open_playground(page, server.url)
    choose(page, two_voices, model="gpt-4o-transcribe-diarize", fmt="diarized_json", stream=True)
    transcribe(page)
    legend = page.locator("#legend li").all_inner_texts()
    assert legend[:2] == ["Speaker A", "Speaker B"]
    speakers = page.eval_on_selector_all("#segments li", "items => items.map(li => li.dataset.speaker)")
    assert speakers[0] == "A" and "B" in speakers
    page.locator("#segments li[data-speaker=B] button").first.click()
    page.wait_for_function("!document.getElementById('source-audio').paused")
    position = page.evaluate("document.getElementById('source-audio').currentTime")
    # the seek lands in the espeak-ng sentence: after joe's first sentence, before his second
    fox = len(read_audio(FIXTURES / "en_fox.flac")) / 16000
    other = len(read_audio(two_voices)) / 16000 - 2 * fox - 2.0
    assert fox + 1.0 - 0.6 <= position <= fox + 1.0 + other, (position, fox, other)
    screenshot(page, "playground-diarization.png")
