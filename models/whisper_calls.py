"""How faster-whisper's model calls reach CTranslate2 here: batched, budgeted, scored.

`BatchedModel` stands in for the CTranslate2 Whisper model inside faster-whisper, which
keeps its own decoding loop. Previous-text prompts are bucketed (`bucket_previous_tokens`)
so that windows of different requests can share one batched call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from models.batching import Batcher
from models.errors import Cancelled

Compute = Callable[[], AbstractContextManager[None]]
WideCompute = Callable[[], AbstractContextManager[bool]]  # holds its cores only if free now

PROMPT_BUCKETS = (32, 64, 128, 223)
"""Previous-text prompts longer than 32 tokens are cut to one of these lengths (keeping the
latest tokens), in the batched and the unbatched path alike: CTranslate2 batches only
prompts of equal length, and this lets windows of different requests share a batch."""


def bucket_previous_tokens(tokens: list[int]) -> list[int]:
    if len(tokens) <= PROMPT_BUCKETS[0]:
        return tokens
    size = max(b for b in PROMPT_BUCKETS if b <= len(tokens))
    return tokens[-size:]


class Capture(threading.local):
    """Per-thread state of one decoding loop: log-probability capture, the last encoded window,
    and whether the loop should stop (asked before every model call)."""

    def __init__(self) -> None:
        self.active = False
        self.sequences: list[tuple[list[int], list[float]]] = []
        self.encoded: tuple[np.ndarray, Any] | None = None  # (features, encoder output)
        self.stopped: Callable[[], bool] | None = None

    def reset(self, logprobs: bool = False, stopped: Callable[[], bool] | None = None) -> None:
        self.active, self.sequences, self.encoded, self.stopped = logprobs, [], None, stopped

    def check(self) -> None:
        """Raise `Cancelled` when the loop of this thread was asked to stop."""
        if self.stopped is not None and self.stopped():
            raise Cancelled("the transcription was stopped")


@dataclass(frozen=True)
class _GenerateCall:
    encoder_output: np.ndarray  # [1, positions, d_model]
    prompt: list[int]


class BatchedModel:
    """Stands in for the CTranslate2 Whisper model inside faster-whisper.

    faster-whisper drives its own decoding loop and calls `encode`, `generate`,
    `detect_language` and `align` on this object. On the CPU every call holds its cores of
    the CPU budget. The generate calls of concurrent windows, of one request or of several,
    are gathered into one batched call on either device (see models/batching.py); encoding
    is not batched, as it gains nothing from it on the CPU, but runs on every core when they
    are all free (docs/benchmarks.md). A window
    encoded for language detection is not encoded again for its transcription. While the
    calling thread's capture is on, greedy decodes also report each chosen token's
    log-probability.
    """

    def __init__(
        self,
        inner: Any,
        compute: Compute,
        batcher: Batcher | None,
        capture: Capture,
        sot: int,
        encoder: tuple[Any, WideCompute] | None = None,
        host_outputs: bool = False,
    ):
        self._inner = inner
        # on a GPU, encoder outputs are brought to host memory, where windows are stacked into a
        # batch (as faster-whisper does for several GPUs); CTranslate2 moves the batch to the device
        self._host_outputs = host_outputs
        self._sot = sot
        self._compute = compute  # the CPU budget's gate for one call (see WhisperWorker.load)
        self.batcher = batcher  # None: every generate call alone
        self._capture = capture
        # a second instance of the model that encodes on more threads, and its gate: used when
        # its cores are free at once (a lone request), else the window is encoded on one core
        self._wide_encoder: Any = None
        self._wide_compute: WideCompute | None = None
        if encoder is not None:
            self._wide_encoder, self._wide_compute = encoder

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encode(self, features: Any, to_cpu: bool = False) -> Any:
        self._capture.check()
        array = np.asarray(features)
        last = self._capture.encoded
        if last is not None and last[0].shape == array.shape and np.array_equal(last[0], array):
            return last[1]
        encoded = None
        if self._wide_encoder is not None and self._wide_compute is not None:
            with self._wide_compute() as wide:
                if wide:
                    encoded = self._wide_encoder.encode(features, to_cpu=to_cpu)
        if encoded is None:
            with self._compute():
                encoded = self._inner.encode(features, to_cpu=to_cpu or self._host_outputs)
        self._capture.encoded = (array.copy(), encoded)
        return encoded

    def detect_language(self, encoder_output: Any, *args: Any, **kwargs: Any) -> Any:
        with self._compute():
            return self._inner.detect_language(encoder_output, *args, **kwargs)

    def align(self, encoder_output: Any, *args: Any, **kwargs: Any) -> Any:
        self._capture.check()
        with self._compute():
            return self._inner.align(encoder_output, *args, **kwargs)

    def generate(self, encoder_output: Any, prompts: list[list[int]], **kwargs: Any) -> Any:
        self._capture.check()
        capture = self._capture.active
        if self.batcher is None:
            with self._compute():
                results = self._inner.generate(encoder_output, prompts, return_logits_vocab=capture, **kwargs)
            pairs: list[tuple[Any, list[float] | None]] = [
                (r, _chosen_logprobs(r) if capture else None) for r in results
            ]
        else:
            prompt = list(prompts[0])
            # CTranslate2 batches prompts whose <|startoftranscript|> sits at the same place
            sot_index = len(prompt) - 1 - prompt[::-1].index(self._sot) if self._sot in prompt else -1
            key = ("generate", sot_index, len(prompt), capture, _hashable(kwargs))
            call = _GenerateCall(np.asarray(encoder_output), prompt)
            pairs = [self.batcher.submit(key, call, lambda calls: self._generate_batch(calls, capture, kwargs))]
        for result, logprobs in pairs:
            if logprobs is not None:  # captured
                self._capture.sequences.append((list(result.sequences_ids[0]), logprobs))
        return [result for result, _ in pairs]

    def _generate_batch(self, calls: Sequence[_GenerateCall], capture: bool, kwargs: dict[str, Any]) -> list[Any]:
        import ctranslate2

        stacked = np.ascontiguousarray(np.concatenate([c.encoder_output for c in calls]))
        results = self._inner.generate(
            ctranslate2.StorageView.from_array(stacked),
            [c.prompt for c in calls],
            return_logits_vocab=capture,
            **kwargs,
        )
        return [(r, _chosen_logprobs(r) if capture else None) for r in results]


def _chosen_logprobs(result: Any) -> list[float]:
    """Log-probability of each generated token, from the step logits of a greedy decode."""
    tokens = list(result.sequences_ids[0])
    steps = result.logits[0] if result.logits else []
    logprobs = []
    for token, step in zip(tokens, steps, strict=False):  # no logits: no logprobs
        row = np.array(step, dtype=np.float32)
        peak = float(row.max())
        logprobs.append(float(row[token]) - peak - float(np.log(np.exp(row - peak).sum())))
    return logprobs


def _hashable(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    return value


@lru_cache(maxsize=1)
def whisper_class() -> type:
    """faster-whisper's WhisperModel with bucketed previous-text prompts and no empty tail decodes
    (imported lazily)."""
    from faster_whisper import WhisperModel

    class BucketedWhisperModel(WhisperModel):  # type: ignore[misc]  # faster-whisper has no type information
        def get_prompt(self, tokenizer: Any, previous_tokens: list[int], *args: Any, **kwargs: Any) -> list[int]:
            prompt: list[int] = super().get_prompt(
                tokenizer, bucket_previous_tokens(list(previous_tokens)), *args, **kwargs
            )
            return prompt

        def _split_segments_by_timestamps(
            self, tokenizer: Any, tokens: list[int], time_offset: float, segment_size: int,
            segment_duration: float, seek: int,
        ) -> tuple[list[dict[str, Any]], int, bool]:
            """A decode whose last timestamp lies at or past the end of the audio is finished.

            Whisper ends such a decode with two timestamps (`. <|28.00|><|28.00|>` for 27.6 s of
            audio): a new segment opened where nothing is left. faster-whisper then seeks back to
            the last word's end when words are aligned, and decodes the fraction of a second left
            (a whole encode and generate that hear nothing, for most windows cut inside speech).
            Reported as a single-timestamp ending, the decode ends there, as it does without
            word timestamps.
            """
            segments, after, single = super()._split_segments_by_timestamps(
                tokenizer, tokens, time_offset, segment_size, segment_duration, seek
            )
            return segments, after, single or after >= seek + segment_size

    return BucketedWhisperModel
