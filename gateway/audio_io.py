"""Audio in and out, in-process with PyAV (no ffmpeg binary).

Decoding turns any upload (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm, ...) into
float32 mono 16 kHz samples, the input of every listening worker. The container is
sniffed from the bytes, never from the file name, which SDKs do not send reliably.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import re
from collections.abc import Iterator
from typing import BinaryIO

import av
import numpy as np

from models.errors import AudioDecodeError
from models.types import SAMPLE_RATE

SUPPORTED_INPUTS = "flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm"
MIN_DURATION_S = 0.1


def iter_audio(
    source: BinaryIO | bytes, *, param: str = "file", block_seconds: float = 30.0, max_seconds: float | None = None
) -> Iterator[np.ndarray]:
    """Decode to float32 mono 16 kHz blocks of about `block_seconds`, lazily.

    Memory stays at one block whatever the recording's length. Raises AudioDecodeError
    naming `param` when the bytes are not audio (also midway, for a truncated file).
    """
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    source.seek(0)
    block_len = int(block_seconds * SAMPLE_RATE)
    limit = int(max_seconds * SAMPLE_RATE) if max_seconds else None
    pending: list[np.ndarray] = []
    pending_len = total = 0
    try:
        with av.open(source, mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioDecodeError(
                    f"The `{param}` upload has no audio stream. Supported formats: {SUPPORTED_INPUTS}.",
                    param=param,
                    code="invalid_value",
                )
            declared = container.duration / av.time_base if container.duration else None
            if max_seconds and declared and declared > max_seconds + 1:  # refused before any decoding
                raise _too_long(param, max_seconds)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            frames = container.decode(container.streams.audio[0])
            for frame in itertools.chain(frames, [None]):
                for out in resampler.resample(frame):
                    block = out.to_ndarray().reshape(-1)
                    pending.append(block)
                    pending_len += len(block)
                    total += len(block)
                if limit is not None and total > limit:
                    raise _too_long(param, max_seconds)
                if pending_len >= block_len or (frame is None and pending_len):
                    yield np.concatenate(pending).astype(np.float32, copy=False)
                    pending, pending_len = [], 0
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, UnicodeDecodeError, EOFError) as exc:
        raise AudioDecodeError(
            f"Could not decode the `{param}` upload as audio. Supported formats: {SUPPORTED_INPUTS}.",
            param=param,
            code="invalid_value",
        ) from exc


def _too_long(param: str, max_seconds: float | None) -> AudioDecodeError:
    return AudioDecodeError(
        f"The `{param}` audio is longer than the maximum of {max_seconds:g} seconds.",
        param=param,
        code="audio_too_long",
    )


def _too_short(param: str) -> AudioDecodeError:
    return AudioDecodeError(
        f"The `{param}` audio is too short. Minimum audio length is {MIN_DURATION_S} seconds.",
        param=param,
        code="audio_too_short",
    )


def decode_audio(source: BinaryIO | bytes, *, param: str = "file", max_seconds: float | None = None) -> np.ndarray:
    """Decode a whole recording to float32 mono 16 kHz, or raise AudioDecodeError naming `param`."""
    blocks = list(iter_audio(source, param=param, max_seconds=max_seconds))
    samples = np.concatenate(blocks) if blocks else np.zeros(0, np.float32)
    if len(samples) < MIN_DURATION_S * SAMPLE_RATE:
        raise _too_short(param)
    return samples


class StreamedAudio:
    """A recording decoded block by block; its first block is decoded (and so checked) up front."""

    def __init__(self, source: BinaryIO | bytes, *, param: str = "file", max_seconds: float | None = None):
        self._blocks = iter_audio(source, param=param, max_seconds=max_seconds)
        self._first = next(self._blocks, None)
        if self._first is None or len(self._first) < MIN_DURATION_S * SAMPLE_RATE:
            raise _too_short(param)

    def __iter__(self) -> Iterator[np.ndarray]:
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._blocks


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
