"""Every speech format, whole and streamed (SSE deltas joined), read by libsndfile (soundfile)
and FFmpeg (ffprobe, ffmpeg) as a file, with its duration agreeing between the readers
(issue 12: streamed FLAC had 0 samples and a zero MD5 in its header; libsndfile refused it and
ffprobe showed no duration). Chromium reads them in tests/system/test_speech_browser.py."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

TEXT = "The weather is nice today. We will walk to the park."
RATE = 24_000
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
RAW = ["-f", "s16le", "-ar", str(RATE), "-ac", "1"]  # pcm has no header: readers are told its layout


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    if not (shutil.which("ffmpeg") and shutil.which("ffprobe")):
        pytest.fail("FFmpeg is not installed: run `bash scripts/system-deps` as root")
    return "ffmpeg"


@pytest.fixture(scope="module")
def spoken(client) -> dict[tuple[str, str], bytes]:
    """(format, "whole" | "streamed") -> the bytes a client gets."""
    out = {}
    for fmt in FORMATS:
        out[fmt, "whole"] = client.audio.speech.create(
            model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format=fmt
        ).content
        with client.audio.speech.with_streaming_response.create(
            model="gpt-4o-mini-tts", voice="alloy", input=TEXT, response_format=fmt, stream_format="sse"
        ) as response:
            events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
        assert events[-1]["type"] == "speech.audio.done"
        out[fmt, "streamed"] = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    return out


def ffprobe_duration(data: bytes, fmt: str, tmp_path: Path) -> float:
    """The duration ffprobe gives a saved download (from its header, or its size and bit rate)."""
    path = tmp_path / f"speech.{fmt}"
    path.write_bytes(data)
    args = ["ffprobe", "-v", "error", *(RAW if fmt == "pcm" else []), "-show_entries", "format=duration", "-of", "json"]
    done = subprocess.run([*args, str(path)], capture_output=True, timeout=60, check=True)
    duration = json.loads(done.stdout)["format"].get("duration")
    assert duration is not None, f"ffprobe finds no duration in the {fmt} file"
    return float(duration)


def ffmpeg_samples(data: bytes, fmt: str) -> np.ndarray:
    args = [
        "ffmpeg",
        "-v",
        "error",
        *(RAW if fmt == "pcm" else []),
        "-i",
        "-",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-ar",
        str(RATE),
        "-",
    ]
    done = subprocess.run(args, input=data, capture_output=True, timeout=60, check=True)
    assert not done.stderr, done.stderr.decode()
    return np.frombuffer(done.stdout, "<i2")


def libsndfile_samples(data: bytes, fmt: str) -> tuple[np.ndarray, int]:
    if fmt == "pcm":
        return soundfile.read(io.BytesIO(data), format="RAW", subtype="PCM_16", samplerate=RATE, channels=1)
    return soundfile.read(io.BytesIO(data))


@pytest.mark.parametrize("how", ["whole", "streamed"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_ffmpeg_reads_it_with_its_duration(spoken, ffmpeg, fmt, how, tmp_path):
    data = spoken[fmt, how]
    samples = ffmpeg_samples(data, fmt)
    decoded = len(samples) / RATE
    assert 2.0 < decoded < 6.0  # eleven words of speech
    assert np.abs(samples).max() > 3000  # audible, not silence
    # ffprobe reads the duration from the header or, for mp3 and ADTS AAC (which have no length
    # field), estimates it from the size and bit rate: AAC's bit rate varies, hence the wider margin
    margin = 0.1 * decoded if fmt == "aac" else 0.1
    assert ffprobe_duration(data, fmt, tmp_path) == pytest.approx(decoded, abs=margin)


@pytest.mark.parametrize("how", ["whole", "streamed"])
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "aac"])  # libsndfile has no AAC decoder at all
def test_libsndfile_reads_it(spoken, ffmpeg, fmt, how):
    data = spoken[fmt, how]
    samples, rate = libsndfile_samples(data, fmt)
    assert rate == RATE
    assert np.abs(samples).max() > 0.1
    # the same length as FFmpeg decodes (mp3: libsndfile drops the encoder delay FFmpeg keeps)
    assert len(samples) / rate == pytest.approx(len(ffmpeg_samples(data, fmt)) / RATE, abs=0.08)
    if fmt in ("flac", "wav", "pcm"):  # lossless: the very samples
        assert np.array_equal(np.round(samples * 32768).astype(np.int16), ffmpeg_samples(data, fmt))


def test_libsndfile_knows_no_aac(spoken):
    """Checked, not assumed: should libsndfile learn AAC, the test above should include it."""
    with pytest.raises(soundfile.LibsndfileError):
        soundfile.read(io.BytesIO(spoken["aac", "whole"]))


def test_flac_header_has_the_length_and_md5(spoken):
    """What a correct FLAC writer leaves in STREAMINFO once it knows: total samples and the MD5."""
    import hashlib

    for how in ("whole", "streamed"):
        data = spoken["flac", how]
        info = data[8 : 8 + 34]
        total = int.from_bytes(info[13:18], "big") & ((1 << 36) - 1)
        samples, _ = soundfile.read(io.BytesIO(data), dtype="int16")
        assert total == len(samples) > 0
        assert info[18:34] == hashlib.md5(samples.astype("<i2").tobytes()).digest()


def test_streamed_wav_says_its_length_is_unknown(spoken):
    """wav goes out before its length is known, as OpenAI streams it: sizes of 0xFFFFFFFF, which
    the readers above take as "to the end of the file"."""
    data = spoken["wav", "whole"]
    assert data[4:8] == b"\xff\xff\xff\xff" and data[40:44] == b"\xff\xff\xff\xff"
