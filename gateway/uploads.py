"""Audio uploads: size checks on the spooled file, decoding off the event loop."""

from __future__ import annotations

import anyio
import anyio.to_thread
import numpy as np
from starlette.datastructures import UploadFile

from gateway.audio_io import StreamedAudio, decode_audio
from models.errors import InvalidRequest, PayloadTooLarge


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


class Decoder:
    """Decodes uploads in worker threads, a few at a time, never on the event loop."""

    def __init__(self, parallel: int = 2, max_seconds: float | None = None):
        self.parallel = parallel
        self.max_seconds = max_seconds
        self._limiter: anyio.CapacityLimiter | None = None

    async def decode(
        self, source: UploadFile | bytes, param: str = "file", max_seconds: float | None = None
    ) -> np.ndarray:
        """float32 mono 16 kHz; `max_seconds` (or the decoder's own limit) refuses longer audio."""
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.parallel)
        data = source.file if isinstance(source, UploadFile) else source
        limit = max_seconds or self.max_seconds
        return await anyio.to_thread.run_sync(
            lambda: decode_audio(data, param=param, max_seconds=limit), limiter=self._limiter
        )

    async def open(self, source: UploadFile, param: str = "file", max_seconds: float | None = None) -> StreamedAudio:
        """Check the upload decodes and return it as a stream of blocks, decoded as it is consumed.

        `max_seconds` (or the decoder's own limit) refuses longer audio: up front when the
        container declares its duration, else once decoding passes the limit.
        """
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.parallel)
        limit = max_seconds or self.max_seconds
        return await anyio.to_thread.run_sync(
            lambda: StreamedAudio(source.file, param=param, max_seconds=limit), limiter=self._limiter
        )
