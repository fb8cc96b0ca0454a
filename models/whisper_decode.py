"""One transcription's decoding flow: speech windows decoded side by side, checked, in order.

A recording arrives as blocks of samples and is cut into pieces of a few minutes (bounded
memory, models/longform.py). In each piece the speech is found and packed into windows
(models/speech_windows.py); the windows are decoded concurrently by a pool of threads, so
their model calls share batched calls and every core (models/batching.py), at most
`max_batch` windows in flight. Each window is decoded on its own, with the caller's prompt
as its only previous text, so a hallucination cannot be carried from one window into the
next. Decoded segments are checked (models/transcript_checks.py), their times mapped back
into the recording and tightened to their words, and handed over in order as soon as their
window and every earlier one are done.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from models.errors import Cancelled
from models.languages import LanguageGuess, detect_language, from_info, reported
from models.longform import FIRST_PIECE_SECONDS, pieces
from models.options import SPEECH_GATE, TranscribeOptions, VadParameters
from models.speech_windows import (
    WORD_FRAME_SECONDS,
    SpeechWindow,
    each_alone,
    pack,
    spaced,
    speech_regions,
    unheard,
)
from models.transcript_checks import bounded_by_words, cut_loop, drop_repeats, is_speech, split_at_pauses
from models.types import SAMPLE_RATE, Segment, Transcript

if TYPE_CHECKING:
    from models.whisper import WhisperWorker

SegmentCallback = Callable[[Segment], None]
Stopped = Callable[[], bool]

HEARD_AGAIN_ROUNDS = 3
"""How many times speech left unheard by a window's decode is decoded again on its own."""


class Transcription:
    """The decoding of one request by one Whisper worker (runs in the request's worker thread)."""

    def __init__(
        self,
        worker: WhisperWorker,
        options: TranscribeOptions,
        on_segment: SegmentCallback | None = None,
        cancel: threading.Event | None = None,
    ):
        self.worker, self.options, self.on_segment, self.cancel = worker, options, on_segment, cancel
        self.failed = threading.Event()  # a window failed: the others stop at their next model call
        self.segments: list[Segment] = []
        # Known at once, or detected by the first window's own decode (its encoder output is
        # then used for both; with `languages[]`, detected among them before decoding); the
        # other windows wait for it in their threads.
        self.language: Future[LanguageGuess | None] = Future()
        self.detect = options.language is None and worker.multilingual
        if not self.detect:
            given = options.language or (None if worker.multilingual else "en")
            self.language.set_result(LanguageGuess(given) if given else None)

    def stopped(self) -> bool:
        return self.failed.is_set() or (self.cancel is not None and self.cancel.is_set())

    def run(self, blocks: Iterable[np.ndarray]) -> Transcript:
        duration = 0.0
        in_flight = max(1, self.worker.source.max_batch)
        pending: deque[tuple[float, SpeechWindow, Future[list[Segment]]]] = deque()
        pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix=f"{self.worker.name}-window")
        try:
            first = min(FIRST_PIECE_SECONDS, self.worker.source.piece_seconds)
            for offset, piece in pieces(blocks, self.worker.source.piece_seconds, first_seconds=first):
                duration = offset + len(piece) / SAMPLE_RATE
                windows = list(self._windows(piece))
                # the first piece's words go out before the next piece's windows queue for the cores
                while pending and pending[0][0] == 0 < offset:
                    self._hand_over(*pending.popleft())
                for window in windows:
                    self._check()
                    detect, self.detect = self.detect, False
                    # the request's latency class (models/compute.py) goes with its windows
                    work = contextvars.copy_context().run
                    future = pool.submit(work, self._decode, piece, window, detect)
                    pending.append((offset, window, future))
                    while pending and (pending[0][2].done() or len(pending) > in_flight):
                        self._hand_over(*pending.popleft())
            while pending:
                self._hand_over(*pending.popleft())
        except BaseException as exc:
            self.failed.set()
            if not self.language.done():
                self.language.set_exception(Cancelled("the transcription was stopped"))
            for *_, future in pending:
                future.cancel()
            if isinstance(exc, Cancelled):
                self.worker.cancelled += 1
            raise
        finally:
            pool.shutdown(wait=True)
        guess = self.language.result() if self.language.done() else None
        return Transcript(
            task=self.options.task,
            # nothing decoded (no speech): the language asked for, else the first one allowed
            language=guess.code if guess else self.options.language or (self.options.languages or ("en",))[0],
            duration=duration,
            segments=tuple(self.segments),
            languages=reported(guess, (s.no_speech_prob for s in self.segments)),
        )

    def _check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("the client went away")

    def _windows(self, piece: np.ndarray) -> Iterator[SpeechWindow]:
        regions = self._speech(piece, self.options.vad or SPEECH_GATE)
        # chunking_strategy: every chunk alone; by default: speech packed into 30 s windows
        return each_alone(regions) if self.options.vad is not None else pack(regions)

    def _speech(self, samples: np.ndarray, vad: VadParameters) -> list[tuple[int, int]]:
        """Speech regions of `samples`, found on one core of the budget (Silero runs one thread)."""
        with self.worker.budget.compute(1):
            return speech_regions(samples, vad)

    def _decode(self, piece: np.ndarray, window: SpeechWindow, detect: bool) -> list[Segment]:
        """The checked segments of one window, in the piece's time (runs in a pool thread).

        With `detect`, this window's decode detects the language for every window. Speech of
        the window in which no word was heard is decoded again on its own (`unheard`).
        """
        samples = window.samples(piece)
        options = replace(self.options, vad=None, word_timestamps=True)
        on_language: Callable[[Any], None] | None = None
        try:
            if detect and options.languages:  # restricted: chosen among them before decoding
                self.language.set_result(detect_language(self.worker.model, samples, options.languages))
                self.worker.capture.reset()
            elif detect:
                on_language = lambda info: self.language.set_result(from_info(info))  # noqa: E731
            guess = None if on_language else self.language.result()
            options = replace(options, language=guess.code if guess else None)
            decoded = list(decode(self.worker, samples, options, options.prompt, self.stopped, on_language))
        except BaseException as exc:
            if not self.language.done():
                self.language.set_exception(exc)
            raise
        checked, looped = self._checked(decoded, window)
        if options.prompt and (looped or not checked):
            # the prompt may have led the decoder astray (a repeated word made tiny.en loop on it,
            # and the cut left nothing): the window again without it; the one with more words stays
            again, _ = self._checked(list(decode(self.worker, samples, replace(options, prompt=None), None,
                                                 self.stopped)), window)
            if sum(len(s.words) for s in again) > sum(len(s.words) for s in checked):
                checked = again
        return self._heard_again(piece, window, checked, replace(options, prompt=None))

    def _heard_again(
        self, piece: np.ndarray, window: SpeechWindow, checked: list[Segment], options: TranscribeOptions
    ) -> list[Segment]:
        """`checked` with what is said in the window's unheard stretches: the speech the VAD finds in
        each is decoded as windows of its own, whose unheard stretches are heard again in turn (at
        most `HEARD_AGAIN_ROUNDS` times). The window's own decode skipped that audio, so what it
        holds is kept only where Whisper's checks pass at the first temperature: a decode that
        falls back to sampling there is babble, not speech (reversed speech, which the VAD takes
        for speech, came out as made-up sentences)."""
        found = list(checked)
        windows = [window]
        first = options.temperatures[0]
        for _ in range(HEARD_AGAIN_ROUNDS):
            words = [(w.start, w.end) for s in found for w in s.words]
            again: list[SpeechWindow] = []
            for start, end in (stretch for w in windows for stretch in unheard(w, words)):
                # the speech in it, not the pause before it
                regions = self._speech(piece[start:end], SPEECH_GATE)
                again.extend(pack([(start + a, start + b) for a, b in regions]))
            for part in again:
                decoded = list(decode(self.worker, part.samples(piece), options, None, self.stopped))
                found.extend(s for s in self._checked(decoded, part)[0] if s.temperature == first)
            if not again:
                break
            windows = again
        return drop_repeats(sorted(found, key=lambda s: s.start)) if len(found) > len(checked) else checked

    def _checked(self, decoded: list[Segment], window: SpeechWindow) -> tuple[list[Segment], bool]:
        """A window's decoded segments that pass the checks, loops cut, in the piece's time; and
        whether a loop was cut."""
        checked: list[Segment] = []
        looped = False
        for segment in decoded:
            if is_speech(segment):
                cut = cut_loop(segment)
                looped = looped or len(cut.words) < len(segment.words)
                placed = _placed(self.worker.retokenized(cut), window)
                parts = self.worker.retokenized_parts(placed, split_at_pauses(placed))
                checked.extend(bounded_by_words(part) for part in parts)
        return drop_repeats(checked), looped

    def _hand_over(self, offset: float, window: SpeechWindow, future: Future[list[Segment]]) -> None:
        previous = self.segments[-1].text if self.segments else ""
        for segment in drop_repeats(future.result(), previous):
            self._check()  # nothing more for a client that went away
            if not self.options.word_timestamps:
                segment = replace(segment, words=())
            segment = _shifted(segment, len(self.segments), offset)
            self.segments.append(segment)
            if self.on_segment is not None:
                self.on_segment(segment)


def decode(
    worker: WhisperWorker,
    samples: np.ndarray,
    options: TranscribeOptions,
    context: Any,
    stopped: Stopped | None,
    on_language: Callable[[Any], None] | None = None,
) -> Iterator[Segment]:
    """faster-whisper's own loop over `samples`, consumed lazily in the calling thread.

    Segments have the window's local times and ids from 0. The loop runs inside a batching
    session, with this thread's logprob capture on when asked; `stopped` is asked before
    every model call, which then raises `Cancelled`. `on_language` hears faster-whisper's
    `TranscriptionInfo` (the language it detected, with every language's probability)
    before the first segment is decoded.
    """
    capture = worker.capture
    capture.reset(options.logprobs, stopped)
    try:
        with worker.batcher.session() if worker.batcher else nullcontext():
            raw_segments, info = worker.model.transcribe(samples, **worker.decode_kwargs(options, context))
            if on_language is not None:
                on_language(info)
            for index, raw in enumerate(raw_segments):  # decodes the next window when needed
                yield worker.segment(index, raw, options)
    finally:
        capture.reset()


def _placed(segment: Segment, window: SpeechWindow) -> Segment:
    """A window's segment with its times (and its words') mapped into the piece."""
    spans = spaced([window.piece_span(w.start, w.end) for w in segment.words])
    words = tuple(replace(w, start=start, end=end) for w, (start, end) in zip(segment.words, spans, strict=True))
    start, end = window.piece_time(segment.start), window.piece_time(segment.end, is_end=True)
    if words and end - start < WORD_FRAME_SECONDS:  # a segment of one zero-length word: its placed span
        start, end = min(start, words[0].start), max(end, words[-1].end)
    return replace(segment, seek=round(window.start * 100), start=start, end=end, words=words)


def _shifted(segment: Segment, index: int, offset: float) -> Segment:
    """A piece's segment placed in the whole recording."""
    if not offset and segment.id == index:
        return segment
    words = tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in segment.words)
    return replace(
        segment,
        id=index,
        seek=segment.seek + round(offset * 100),
        start=segment.start + offset,
        end=segment.end + offset,
        words=words,
    )
