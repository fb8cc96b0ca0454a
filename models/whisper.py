"""Whisper worker: faster-whisper (CTranslate2) on CPU or CUDA.

`WhisperWorker.transcribe` runs in a worker thread. faster-whisper returns a lazy
generator; it is consumed here, one segment per compute step, each step holding a slot
of the CPU budget so that several loaded models never compute at once on scarce cores.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.assets import SILERO_VAD, check_model_dir, embedded_whisper_dir, packaged
from models.compute import CpuBudget
from models.errors import Cancelled, InvalidRequest, ModelUnavailable
from models.options import TranscribeOptions, VadParameters
from models.tokens import token_bytes
from models.types import SAMPLE_RATE, Segment, TokenLogprob, Transcript, Word

log = logging.getLogger(__name__)

SegmentCallback = Callable[[Segment], None]


@dataclass(frozen=True)
class WhisperSource:
    """Where a Whisper model's files come from and how to run it."""

    embedded: str | None = None
    path: Path | None = None
    device: str = "auto"
    compute_type: str = "default"
    cpu_threads: int = 0
    num_workers: int = 1
    beam_size: int = 5


class _Capture(threading.local):
    """Per-thread switch and sink for decoder log-probabilities."""

    def __init__(self) -> None:
        self.active = False
        self.sequences: list[tuple[list[int], list[float]]] = []


class _ScoringModel:
    """Wraps a ctranslate2 Whisper model so greedy decodes also report token logprobs.

    faster-whisper calls `generate` itself; while the calling thread's capture is
    active, this asks CTranslate2 for the step logits and keeps each chosen token's
    log-probability. Everything else is passed through untouched.
    """

    def __init__(self, inner: Any, capture: _Capture):
        self._inner = inner
        self._capture = capture

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        if not self._capture.active:
            return self._inner.generate(*args, **kwargs)
        results = self._inner.generate(*args, return_logits_vocab=True, **kwargs)
        for result in results:
            tokens = list(result.sequences_ids[0])
            steps = result.logits[0] if result.logits else []
            logprobs = []
            for token, step in zip(tokens, steps):
                row = np.array(step, dtype=np.float32)
                peak = float(row.max())
                logprobs.append(float(row[token]) - peak - float(np.log(np.exp(row - peak).sum())))
            self._capture.sequences.append((tokens, logprobs))
        return results


class WhisperWorker:
    """One loaded Whisper model."""

    def __init__(self, name: str, source: WhisperSource, budget: CpuBudget, cache_dir: Path):
        self.name = name
        self.source = source
        self.budget = budget
        self.cache_dir = cache_dir
        self.model: Any = None
        self.device: str | None = None
        self._capture = _Capture()
        self.cancelled = 0  # transcriptions stopped because the caller went away
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.model is not None

    @property
    def multilingual(self) -> bool:
        return bool(self.model and self.model.model.is_multilingual)

    def load(self) -> None:
        with self._load_lock:
            if self.model is not None:
                return
            try:
                import ctranslate2
                from faster_whisper import WhisperModel
            except ImportError as exc:  # pragma: no cover - installation problem
                raise ModelUnavailable(f"faster-whisper is not installed ({exc}); run `pip install -e .`") from exc
            packaged(SILERO_VAD)
            if self.source.embedded:
                directory = embedded_whisper_dir(self.source.embedded, self.cache_dir)
            else:
                directory = check_model_dir(Path(self.source.path), ("model.bin", "config.json"))
            device = self.source.device
            if device == "auto":
                device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
            compute_type = self.source.compute_type
            if compute_type == "default":
                compute_type = "float16" if device == "cuda" else "int8"
            try:
                model = WhisperModel(
                    str(directory),
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=self.source.cpu_threads or self.budget.threads,
                    num_workers=self.source.num_workers,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelUnavailable(f"cannot load Whisper model {self.name!r} from {directory}: {exc}") from exc
            model.model = _ScoringModel(model.model, self._capture)
            self.model, self.device = model, device
            log.info("loaded whisper model %s from %s on %s (%s)", self.name, directory, device, compute_type)

    def unload(self) -> None:
        with self._load_lock:
            self.model = None

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse what this model cannot do, before any work starts."""
        if self.multilingual:
            return
        if options.task == "translate":
            raise InvalidRequest(
                f"Model `{self.name}` is English-only and cannot translate; use a multilingual model.",
                param="model",
            )
        if options.language not in (None, "en"):
            raise InvalidRequest(
                f"Model `{self.name}` is English-only; language `{options.language}` is not supported.",
                param="language",
            )

    def transcribe(
        self,
        samples: np.ndarray,
        options: TranscribeOptions,
        on_segment: SegmentCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Transcribe or translate float32 mono 16 kHz samples."""
        self.load()
        self.check_options(options)
        capture = self._capture
        capture.active, capture.sequences = options.logprobs, []
        try:
            with self.budget.compute():
                raw_segments, info = self.model.transcribe(samples, **self._decode_kwargs(options))
            segments: list[Segment] = []
            iterator = iter(raw_segments)
            while True:
                if cancel is not None and cancel.is_set():
                    self.cancelled += 1
                    raise Cancelled("the client went away")
                with self.budget.compute():
                    raw = next(iterator, None)
                if raw is None:
                    break
                segment = self._segment(len(segments), raw, options)
                segments.append(segment)
                if on_segment is not None:
                    on_segment(segment)
            language = options.language or info.language
            return Transcript(
                task=options.task,
                language=language,
                duration=len(samples) / SAMPLE_RATE,
                segments=tuple(segments),
            )
        finally:
            capture.active, capture.sequences = False, []

    def _decode_kwargs(self, options: TranscribeOptions) -> dict[str, Any]:
        from faster_whisper.vad import VadOptions

        kwargs: dict[str, Any] = dict(
            language=options.language,
            task=options.task if self.multilingual else "transcribe",
            beam_size=1 if options.logprobs else options.beam_size or self.source.beam_size,
            temperature=list(options.temperatures),
            initial_prompt=options.prompt or None,
            word_timestamps=options.word_timestamps,
        )
        if options.vad is not None:
            kwargs["vad_filter"] = True
            kwargs["vad_parameters"] = _vad_options(VadOptions, options.vad)
        return kwargs

    def _segment(self, index: int, raw: Any, options: TranscribeOptions) -> Segment:
        words = tuple(
            Word(word=w.word, start=float(w.start), end=float(w.end), probability=float(w.probability))
            for w in (raw.words or ())
        )
        logprobs = self._segment_logprobs(list(raw.tokens)) if options.logprobs else ()
        return Segment(
            id=index,
            seek=int(raw.seek),
            start=float(raw.start),
            end=float(raw.end),
            text=raw.text,
            tokens=tuple(int(t) for t in raw.tokens),
            temperature=float(raw.temperature or 0.0),
            avg_logprob=float(raw.avg_logprob),
            compression_ratio=float(raw.compression_ratio),
            no_speech_prob=float(raw.no_speech_prob),
            words=words,
            logprobs=logprobs,
        )

    def _segment_logprobs(self, tokens: list[int]) -> tuple[TokenLogprob, ...]:
        """Find the segment's tokens in the latest captured decode and read their logprobs."""
        tokenizer = self.model.hf_tokenizer
        eot = tokenizer.token_to_id("<|endoftext|>")
        for sequence, logprobs in reversed(self._capture.sequences):
            start = _find(sequence, tokens)
            if start < 0:
                continue
            found = zip(tokens, logprobs[start : start + len(tokens)])
            return tuple(
                TokenLogprob(
                    token=tokenizer.decode([token]),
                    logprob=logprob,
                    bytes=token_bytes(tokenizer.id_to_token(token)),
                )
                for token, logprob in found
                if token < eot
            )
        return ()


def _find(haystack: list[int], needle: list[int]) -> int:
    if not needle:
        return -1
    for i in range(len(haystack) - len(needle), -1, -1):
        if haystack[i : i + len(needle)] == needle:
            return i
    return -1


def _vad_options(vad_options_cls: Any, vad: VadParameters) -> Any:
    return vad_options_cls(
        threshold=vad.threshold,
        min_silence_duration_ms=vad.silence_duration_ms,
        speech_pad_ms=vad.prefix_padding_ms,
    )
