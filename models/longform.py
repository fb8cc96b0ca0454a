"""Long audio in bounded memory: pieces cut at quiet moments.

A recording arrives as a stream of sample blocks. It is transcribed piece by piece (a few
minutes each, cut at the quietest moment near the end of the piece, so no word is split),
so memory depends on the piece length, not on the recording's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from models.types import SAMPLE_RATE

PIECE_SECONDS = 300.0
FIRST_PIECE_SECONDS = 60.0  # the first piece: its words stream out before a whole piece is read
SEARCH_SECONDS = 10.0  # where to look for a quiet cut, before the piece's end
FRAME = SAMPLE_RATE // 20  # 50 ms energy frames


def quietest_cut(samples: np.ndarray, start: int, end: int) -> int:
    """Index of the lowest-energy 50 ms frame's middle in samples[start:end]."""
    region = samples[start:end]
    frames = len(region) // FRAME
    if frames < 2:
        return end
    energy = np.square(region[: frames * FRAME].reshape(frames, FRAME)).mean(axis=1)
    return start + int(np.argmin(energy)) * FRAME + FRAME // 2


def pieces(
    blocks: Iterable[np.ndarray],
    piece_seconds: float = PIECE_SECONDS,
    search_seconds: float = SEARCH_SECONDS,
    first_seconds: float | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) for consecutive pieces of a stream of blocks.

    The first piece is about `first_seconds` long when given (shorter than the others, so
    that the first words are decoded before a whole piece has been read), the others about
    `piece_seconds`.
    """
    lengths = [int((first_seconds or piece_seconds) * SAMPLE_RATE), int(piece_seconds * SAMPLE_RATE)]
    buffer = np.zeros(0, np.float32)
    offset = 0
    for block in blocks:
        incoming = np.asarray(block, np.float32)
        buffer = np.concatenate([buffer, incoming]) if len(buffer) else incoming
        while len(buffer) >= lengths[0] + (search := min(int(search_seconds * SAMPLE_RATE), lengths[0] // 2)):
            cut = quietest_cut(buffer, lengths[0] - search, lengths[0] + search)
            yield offset / SAMPLE_RATE, buffer[:cut]
            offset += cut
            buffer = buffer[cut:]
            lengths = lengths[-1:]
    if len(buffer):
        yield offset / SAMPLE_RATE, buffer
