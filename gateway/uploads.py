"""Audio uploads: size checks on the spooled file, decoding off the event loop."""

from __future__ import annotations

import numpy as np
from starlette.datastructures import UploadFile

from gateway.audio_io import StreamedAudio, decode_audio, decode_data_url
from gateway.threads import LazyLimiter
from models.errors import AudioDecodeError, InvalidRequest, PayloadTooLarge
from models.options import KnownSpeaker
from models.types import SAMPLE_RATE

REFERENCE_SECONDS = (2.0, 10.0)
"""How long a known speaker's reference clip must be (OpenAI's rule)."""
REFERENCE_SLACK_S = 0.1
"""Tolerated beyond those bounds: encoders pad a clip with a few milliseconds (mp3, aac priming)."""
REFERENCES_PARAM = "known_speaker_references"


def require_upload(uploads: dict[str, UploadFile], name: str, max_bytes: int) -> UploadFile:
    """The named file part, present and within `max_bytes` (Starlette spools it to disk)."""
    upload = uploads.get(name)
    if upload is None:
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    size = upload.size
    if size is None:
        upload.file.seek(0, 2)
        size = upload.file.tell()
    if size > max_bytes:
        raise PayloadTooLarge(
            f"Maximum content size limit ({max_bytes} bytes) exceeded ({size} bytes read).",
            param=name,
            code="file_too_large",
        )
    if size == 0:
        raise InvalidRequest(f"The `{name}` upload is empty.", param=name, code="empty_file")
    return upload


def decode_reference(value: str, index: int) -> np.ndarray:
    """One `known_speaker_references[]` data URL -> float32 mono 16 kHz samples of 2-10 s.

    Every failure is a 400 whose `param` is `known_speaker_references` and whose message names
    the clip by its index.
    """
    where = f"{REFERENCES_PARAM}[{index}]"
    low, high = REFERENCE_SECONDS
    try:
        data = decode_data_url(value, param=where)
        samples = decode_audio(data, param=where, max_seconds=high + REFERENCE_SLACK_S)
    except AudioDecodeError as exc:
        message = exc.message
        if exc.code == "audio_too_long":
            message = (
                f"`{where}` is longer than {high:g} seconds; a reference clip must be {low:g} to {high:g} seconds."
            )
        raise AudioDecodeError(message, param=REFERENCES_PARAM, code=exc.code or "invalid_value") from exc
    seconds = len(samples) / SAMPLE_RATE
    if seconds < low - REFERENCE_SLACK_S:
        raise InvalidRequest(
            f"`{where}` is {seconds:.2f} seconds long; a reference clip must be {low:g} to {high:g} seconds.",
            param=REFERENCES_PARAM,
            code="audio_too_short",
        )
    return samples


class Decoder:
    """Decodes uploads in worker threads, a few at a time, never on the event loop."""

    def __init__(self, parallel: int = 2, max_seconds: float | None = None):
        self.parallel = parallel
        self.max_seconds = max_seconds
        self._threads = LazyLimiter(parallel)

    async def decode(
        self, source: UploadFile | bytes, param: str = "file", max_seconds: float | None = None
    ) -> np.ndarray:
        """float32 mono 16 kHz; `max_seconds` (or the decoder's own limit) refuses longer audio."""
        data = source.file if isinstance(source, UploadFile) else source
        limit = max_seconds or self.max_seconds
        return await self._threads.run(lambda: decode_audio(data, param=param, max_seconds=limit))

    async def open(self, source: UploadFile, param: str = "file", max_seconds: float | None = None) -> StreamedAudio:
        """Check the upload decodes and return it as a stream of blocks, decoded as it is consumed.

        `max_seconds` (or the decoder's own limit) refuses longer audio: up front when the
        container declares its duration, else once decoding passes the limit.
        """
        limit = max_seconds or self.max_seconds
        return await self._threads.run(lambda: StreamedAudio(source.file, param=param, max_seconds=limit))

    async def known_speakers(self, names: list[str], references: list[str]) -> tuple[KnownSpeaker, ...]:
        """Decode the reference clips of `known_speaker_names[]` (checked to match in number)."""
        if not names:
            return ()
        return await self._threads.run(
            lambda: tuple(
                KnownSpeaker(n, decode_reference(r, i)) for i, (n, r) in enumerate(zip(names, references, strict=True))
            )
        )
