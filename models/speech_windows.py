"""Speech gating: where a recording has speech, and the Whisper windows made of it.

Whisper hears words in silence and noise, and stamps segments on whatever 30-second grid
it is given. So the audio is gated first: the bundled Silero VAD finds the speech regions
of a piece, and only they are decoded. By default the regions are packed, in order and with
the silence between them left out, into windows of at most 30 s of speech (one Whisper
window each, as faster-whisper's `vad_filter` and WhisperX do); with `chunking_strategy`
each region is a window of its own. Times decoded inside a window are mapped back to the
piece through `SpeechWindow.piece_time`, so they always fall inside speech.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from models.options import VadParameters
from models.types import SAMPLE_RATE

WINDOW_SECONDS = 30.0
"""Whisper's window: the most speech one decode sees."""
WORD_FRAME_SECONDS = 0.02
"""One Whisper frame: the shortest a placed word is, where its neighbours leave room."""


@dataclass(frozen=True)
class SpeechWindow:
    """Speech regions of a piece, decoded together as one Whisper window.

    `regions` are sample ranges `(start, end)` of the piece, in order and disjoint; the
    window's audio is their samples joined end to end (`samples`), at most 30 s long.
    """

    regions: tuple[tuple[int, int], ...]

    @property
    def length(self) -> int:
        """Samples of speech in the window."""
        return sum(end - start for start, end in self.regions)

    @property
    def start(self) -> float:
        """Seconds from the piece's start to the window's first speech."""
        return self.regions[0][0] / SAMPLE_RATE

    @property
    def end(self) -> float:
        """Seconds from the piece's start to the end of the window's last speech."""
        return self.regions[-1][1] / SAMPLE_RATE

    def samples(self, piece: np.ndarray) -> np.ndarray:
        """The window's audio: float32 mono 16 kHz, silence between regions left out."""
        if len(self.regions) == 1:
            start, end = self.regions[0]
            return np.ascontiguousarray(piece[start:end], dtype=np.float32)
        return np.concatenate([piece[start:end] for start, end in self.regions]).astype(np.float32, copy=False)

    def piece_time(self, seconds: float, *, is_end: bool = False) -> float:
        """A time in the window's audio (seconds) as a time in the piece (seconds).

        A time on the joint of two regions belongs to the earlier region when it ends
        something (`is_end`), else to the later one; times past the window's end map to the
        end of its last region.
        """
        index, into = self._locate(seconds, is_end)
        return (self.regions[index][0] + into) / SAMPLE_RATE

    def piece_span(self, start: float, end: float) -> tuple[float, float]:
        """A stretch of the window's audio (a word, seconds) as a stretch of the piece.

        A stretch that crosses a joint is kept inside the region that holds most of it, so
        that it never covers the silence left out between two regions.
        """
        first, into_first = self._locate(start, False)
        last, into_last = self._locate(end, True)
        if first == last:
            region, begin, finish = first, into_first, into_last
        elif first > last:  # no length, on a joint: the end of the earlier region
            region, begin, finish = last, into_last, into_last
        else:
            first_start, first_end = self.regions[first]
            if first_end - first_start - into_first >= into_last:
                region, begin, finish = first, into_first, first_end - first_start
            else:
                region, begin, finish = last, 0.0, into_last
        region_start = self.regions[region][0]
        return (region_start + begin) / SAMPLE_RATE, (region_start + finish) / SAMPLE_RATE

    def _locate(self, seconds: float, is_end: bool) -> tuple[int, float]:
        """(region index, samples into that region) of a time in the window's audio."""
        position = max(0.0, seconds) * SAMPLE_RATE
        passed = 0
        for index, (start, end) in enumerate(self.regions):
            size = end - start
            last = index == len(self.regions) - 1
            if position < passed + size or (is_end and position <= passed + size) or last:
                return index, min(position - passed, size)
            passed += size
        raise AssertionError("unreachable: the last region always answers")


def spaced(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Word spans (seconds, in order) that never overlap the word before, each at least
    `WORD_FRAME_SECONDS` long where the words around it leave room: Whisper's alignment gives
    some words no length; they take the time from the next word, else from the one before.
    """
    out = [[start, end] for start, end in spans]
    for before, word in itertools.pairwise(out):
        word[0] = max(word[0], before[1])
        word[1] = max(word[1], word[0])
    for i, word in enumerate(out):
        short = WORD_FRAME_SECONDS - (word[1] - word[0])
        if short <= 1e-9:
            continue
        if i + 1 < len(out):  # from the gap after it, then from the next word's own length
            after = out[i + 1]
            take = min(short, max(0.0, after[1] - WORD_FRAME_SECONDS - word[1]))
            word[1] += take
            after[0] = max(after[0], word[1])
            short -= take
        if short > 1e-9 and i:  # from the gap before it, then from the previous word's own length
            before = out[i - 1]
            take = min(short, max(0.0, word[0] - (before[0] + WORD_FRAME_SECONDS)))
            word[0] -= take
            before[1] = min(before[1], word[0])
    return [(start, end) for start, end in out]


UNHEARD_SECONDS = 2.0
"""A stretch of a window's speech this long with no word decoded in it is decoded again on its own."""


def unheard(
    window: SpeechWindow, words: list[tuple[float, float]], min_seconds: float = UNHEARD_SECONDS
) -> list[tuple[int, int]]:
    """Sample ranges of the piece, inside the window's regions, where no word was heard for at
    least `min_seconds`; `words` are (start, end) in the piece's seconds.

    Whisper sometimes ends a window early: said again, a sentence comes out once (it writes
    what it heard, then a final timestamp that means "nothing more"), or a window of it comes
    out as a loop that the checks cut. The speech is still there; these ranges find it.
    """
    found = []
    spans = sorted(words)
    for region_start, region_end in window.regions:
        cursor = region_start / SAMPLE_RATE
        end = region_end / SAMPLE_RATE
        for start, finish in spans:
            if finish <= cursor or start >= end:
                continue
            if start - cursor >= min_seconds:
                found.append((cursor, start))
            cursor = max(cursor, finish)
        if end - cursor >= min_seconds:
            found.append((cursor, end))
    return [(round(a * SAMPLE_RATE), round(b * SAMPLE_RATE)) for a, b in found]


def speech_regions(
    samples: np.ndarray, vad: VadParameters, max_seconds: float = WINDOW_SECONDS
) -> list[tuple[int, int]]:
    """Sample ranges of speech found by the bundled Silero VAD (models/vad.py), each at most `max_seconds` long.

    `vad.prefix_padding_ms` pads each region on both sides; pauses shorter than
    `vad.silence_duration_ms` stay inside a region. Runs Silero on the calling thread.
    """
    from models.vad import VadOptions, speech_timestamps

    options = VadOptions(
        threshold=vad.threshold,
        min_silence_duration_ms=vad.silence_duration_ms,
        speech_pad_ms=vad.prefix_padding_ms,
        min_speech_duration_ms=vad.min_speech_ms,
        max_speech_duration_s=max_seconds - 2 * vad.prefix_padding_ms / 1000,
    )
    return speech_timestamps(samples, options)


def pack(regions: list[tuple[int, int]], max_seconds: float = WINDOW_SECONDS) -> Iterator[SpeechWindow]:
    """Consecutive regions packed into windows of at most `max_seconds` of speech, in order."""
    limit = int(max_seconds * SAMPLE_RATE)
    group: list[tuple[int, int]] = []
    size = 0
    for start, end in regions:
        if group and size + (end - start) > limit:
            yield SpeechWindow(tuple(group))
            group, size = [], 0
        group.append((start, end))
        size += end - start
    if group:
        yield SpeechWindow(tuple(group))


def each_alone(regions: list[tuple[int, int]]) -> Iterator[SpeechWindow]:
    """One window per region (`chunking_strategy`: every chunk is decoded on its own)."""
    for region in regions:
        yield SpeechWindow((region,))
