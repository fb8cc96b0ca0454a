"""The streaming encoders of gateway/audio_io.py, decoded back with PyAV."""

from __future__ import annotations

import hashlib
import io
import struct
import wave

import av
import numpy as np
import pytest
import soundfile

from gateway.audio_io import EMPTY_SILENCE_S, MIME_TYPES, SPEECH_FORMATS, open_encoder, wav_header

RATE = 24_000
CODECS = {"mp3": "mp3", "opus": "opus", "aac": "aac", "flac": "flac", "wav": "pcm_s16le"}


def tone(seconds: float, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()


def encode_chunks(fmt: str, chunks: list[bytes]) -> list[bytes]:
    encoder = open_encoder(fmt, RATE)
    out = [encoder.encode(chunk) for chunk in chunks]
    out.append(encoder.finish())
    return out


def decode(data: bytes) -> tuple[str, int, float]:
    """Codec name, sample rate and duration of encoded audio."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return stream.codec_context.name, stream.codec_context.sample_rate, samples / stream.codec_context.sample_rate


@pytest.mark.parametrize("fmt", [f for f in SPEECH_FORMATS if f != "pcm"])
def test_each_format_decodes_to_its_codec_and_duration(fmt):
    out = encode_chunks(fmt, [tone(1.0), tone(0.5, 660), tone(1.0)])
    codec, rate, duration = decode(b"".join(out))
    assert codec.startswith(CODECS[fmt])  # PyAV names the mp3 decoder "mp3float"
    assert rate in (RATE, 48_000)  # Opus always decodes at 48 kHz
    assert duration == pytest.approx(2.5, abs=0.08)


STREAMED = [f for f in SPEECH_FORMATS if f != "flac"]


@pytest.mark.parametrize("fmt", STREAMED)
def test_bytes_come_out_before_the_end(fmt):
    """Encoding is incremental: every chunk of a second yields bytes at once."""
    out = encode_chunks(fmt, [tone(1.0), tone(1.0), tone(1.0)])
    assert all(len(part) > 0 for part in out[:3])
    # The tail held back for finish() is small: most audio left with the chunks.
    assert len(out[-1]) < 0.25 * sum(len(p) for p in out)


def test_pcm_is_raw_and_wav_is_the_same_samples_with_a_header():
    pcm = tone(0.7)
    assert b"".join(encode_chunks("pcm", [pcm[:1000], pcm[1000:]])) == pcm
    wav = b"".join(encode_chunks("wav", [pcm[:1000], pcm[1000:]]))
    assert wav[:44] == wav_header(RATE, 0xFFFFFFFF)
    assert wav[44:] == pcm
    # A decoder that reads to the end takes the unknown length as it is.
    codec, rate, duration = decode(wav)
    assert (codec, rate) == ("pcm_s16le", RATE)
    assert duration == pytest.approx(0.7, abs=1e-3)


def test_wav_header_with_a_known_length_is_what_the_wave_module_writes():
    pcm = tone(0.1)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    assert buffer.getvalue()[:44] == wav_header(RATE, len(pcm))
    assert struct.unpack("<I", wav_header(RATE, 0xFFFFFFFF)[4:8]) == (0xFFFFFFFF,)


def test_flac_is_sent_whole_with_its_length_and_md5_in_the_header():
    """A streamed STREAMINFO has 0 samples and a zero MD5 (libsndfile refuses it): FLAC waits for its end."""
    pcm = tone(1.0) + tone(0.5, 660)
    out = encode_chunks("flac", [pcm[:24_000], pcm[24_000:]])
    assert out[:-1] == [b"", b""] and out[-1][:4] == b"fLaC"
    info = out[-1][8 : 8 + 34]  # the STREAMINFO block after "fLaC" and its block header
    assert int.from_bytes(info[13:18], "big") & ((1 << 36) - 1) == len(pcm) // 2
    assert info[18:34] == hashlib.md5(pcm).digest()
    samples, rate = soundfile.read(io.BytesIO(out[-1]), dtype="int16")
    assert rate == RATE and samples.tobytes() == pcm  # lossless


def read_raw(fmt: str, data: bytes) -> np.ndarray:
    """Samples of encoded audio as float, decoded with PyAV (raw int16 for pcm)."""
    if fmt == "pcm":
        return np.frombuffer(data, "<i2") / 32768.0
    with av.open(io.BytesIO(data)) as container:
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(container.streams.audio[0])]
    return np.concatenate(frames).astype(np.float64)


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_empty_input_still_makes_a_valid_stream(fmt):
    """No audio at all makes a file every reader takes: EMPTY_SILENCE_S of silence, not 0 bytes
    (mp3 and ADTS have no header without a frame, and Chromium refuses a file with no samples)."""
    data = b"".join(encode_chunks(fmt, [b"", b""]))
    samples = read_raw(fmt, data)
    assert EMPTY_SILENCE_S <= len(samples) / (48_000 if fmt == "opus" else RATE) < 0.15  # codecs pad to a frame
    assert np.max(np.abs(samples)) < 1e-3
    if fmt in ("wav", "flac"):  # whole files, with exact lengths in their headers
        info = soundfile.info(io.BytesIO(data))
        assert info.frames == round(EMPTY_SILENCE_S * RATE)


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_close_without_finish_releases_the_encoder(fmt):
    """A stream given up half-way: nothing is flushed, the encoder is unusable, closing twice is fine.
    (Encoding into a released PyAV codec crashed the process; now it is a ValueError.)"""
    encoder = open_encoder(fmt, RATE)
    encoder.encode(tone(0.2))
    encoder.close()
    encoder.close()
    assert encoder.finish() == b""
    with pytest.raises(ValueError, match="closed"):
        encoder.encode(tone(0.2))


@pytest.mark.parametrize("fmt", SPEECH_FORMATS)
def test_finish_twice_and_encode_after_finish(fmt):
    encoder = open_encoder(fmt, RATE)
    assert b"".join([encoder.encode(tone(0.3)), encoder.finish()])
    assert encoder.finish() == b""
    with pytest.raises(ValueError, match="closed"):
        encoder.encode(tone(0.2))
    encoder.close()


def test_media_types_and_unknown_format():
    encoders = {f: open_encoder(f, RATE) for f in SPEECH_FORMATS}
    assert {f: e.media_type for f, e in encoders.items()} == MIME_TYPES
    for encoder in encoders.values():
        encoder.close()  # FLAC's spool file would be left to the garbage collector (a ResourceWarning)
    with pytest.raises(ValueError):
        open_encoder("ogg", RATE)
