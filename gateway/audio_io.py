"""Audio in and out, in-process with PyAV (no ffmpeg binary).

Decoding turns any upload (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm, ...) into
float32 mono 16 kHz samples, the input of every listening worker. The container is
sniffed from the bytes, never from the file name, which SDKs do not send reliably.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from typing import BinaryIO

import av
import numpy as np

from models.errors import AudioDecodeError
from models.types import SAMPLE_RATE

SUPPORTED_INPUTS = "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm"
MIN_DURATION_S = 0.1


def decode_audio(source: BinaryIO | bytes, *, param: str = "file", max_seconds: float | None = None) -> np.ndarray:
    """Decode to float32 mono 16 kHz, or raise AudioDecodeError naming `param`."""
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    source.seek(0)
    pieces: list[np.ndarray] = []
    total = 0
    limit = int(max_seconds * SAMPLE_RATE) if max_seconds else None
    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioDecodeError(
                    f"The `{param}` upload has no audio stream. Supported formats: {SUPPORTED_INPUTS}.",
                    param=param,
                    code="invalid_value",
                )
            stream = streams[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1)
                    pieces.append(block)
                    total += len(block)
                if limit is not None and total > limit:
                    raise AudioDecodeError(
                        f"The `{param}` audio is longer than the maximum of {max_seconds:g} seconds.",
                        param=param,
                        code="audio_too_long",
                    )
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1))
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, UnicodeDecodeError, EOFError) as exc:
        raise AudioDecodeError(
            f"Could not decode the `{param}` upload as audio. Supported formats: {SUPPORTED_INPUTS}.",
            param=param,
            code="invalid_value",
        ) from exc
    samples = np.concatenate(pieces).astype(np.float32, copy=False) if pieces else np.zeros(0, np.float32)
    if len(samples) < MIN_DURATION_S * SAMPLE_RATE:
        raise AudioDecodeError(
            f"The `{param}` audio is too short. Minimum audio length is {MIN_DURATION_S} seconds.",
            param=param,
            code="audio_too_short",
        )
    return samples


_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,", re.I)


def decode_data_url(value: str, *, param: str) -> bytes:
    """The bytes of a `data:audio/...;base64,...` URL, or AudioDecodeError naming `param`."""
    match = _DATA_URL.match(value.strip())
    if not match or not match.group("b64"):
        raise AudioDecodeError(f"`{param}` must be a base64 data URL such as `data:audio/wav;base64,...`.", param=param)
    try:
        return base64.b64decode(value.strip()[match.end() :], validate=False)
    except (binascii.Error, ValueError) as exc:
        raise AudioDecodeError(f"`{param}` holds invalid base64 data.", param=param) from exc
