"""Whisper worker: faster-whisper (CTranslate2) on CPU or CUDA.

`WhisperWorker.transcribe` runs in a worker thread. faster-whisper returns a lazy
generator; it is consumed here. On the CPU every model call holds its cores of the CPU
budget (one thread each by default), so calls run side by side only while they fit the
machine, whichever models they belong to, and concurrent requests share batched calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from models.assets import (
    SILERO_VAD,
    WHISPER_BASE_PARTS,
    WHISPER_TINY_EN,
    check_model_dir,
    embedded_whisper_dir,
    package_dir,
    packaged,
)
from models.batching import Batcher
from models.compute import CpuBudget
from models.errors import InvalidRequest, ModelUnavailable
from models.keywords import check_keywords, hotwords
from models.longform import PIECE_SECONDS
from models.memory import files_size
from models.options import TranscribeOptions
from models.tokens import token_bytes
from models.types import Segment, TokenLogprob, Transcript, Word
from models.whisper_calls import BatchedModel, Capture, whisper_class
from models.whisper_decode import SegmentCallback, Transcription

log = logging.getLogger(__name__)

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
    max_batch: int = 8  # windows of concurrent requests decoded in one call (CPU)
    batch_wait_s: float = 0.02  # how long a window may wait for others to join its batch
    piece_seconds: float = PIECE_SECONDS  # long audio is decoded in pieces of about this length


class WhisperWorker:
    """One loaded Whisper model."""

    def __init__(self, name: str, source: WhisperSource, budget: CpuBudget, cache_dir: Path):
        self.name = name
        self.source = source
        self.budget = budget
        self.cache_dir = cache_dir
        self.model: Any = None
        self.device: str | None = None
        self.capture = Capture()
        # One batcher per device for the worker's life, so its counters survive unloads. On a GPU one
        # batched generate runs at a time (a budget of one slot): the next batch gathers while it runs.
        self.cpu_batcher = Batcher(budget, source.max_batch, source.batch_wait_s, cores=self.cpu_threads)
        self.device_batcher = Batcher(CpuBudget(cores=1), source.max_batch, source.batch_wait_s)
        self.batcher: Batcher | None = None
        self.cancelled = 0  # transcriptions stopped because the caller went away
        self._load_lock = threading.Lock()

    @property
    def cpu_threads(self) -> int:
        """Threads of one model call on the CPU: the configured count, else the budget's."""
        if self.source.cpu_threads:
            return min(self.source.cpu_threads, self.budget.cores)
        return self.budget.threads("whisper")

    @property
    def loaded(self) -> bool:
        return self.model is not None

    @property
    def multilingual(self) -> bool:
        return bool(self.model and self.model.model.is_multilingual)

    @property
    def languages(self) -> frozenset[str]:
        """Whisper codes of the languages the loaded model knows: its language tokens, numbered from `en`
        (99 for base and most models, 100 with `yue` for large-v3; `en` for an English-only model)."""
        if not self.multilingual:
            return frozenset({"en"})
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        tokenizer = self.model.hf_tokenizer
        first = tokenizer.token_to_id("<|en|>")
        count = self.model.model.num_languages
        ids = {code: tokenizer.token_to_id(f"<|{code}|>") for code in _LANGUAGE_CODES}
        return frozenset(code for code, id_ in ids.items() if id_ is not None and 0 <= id_ - first < count)

    def load(self) -> None:
        with self._load_lock:
            if self.model is not None:
                return
            try:
                import ctranslate2

                model_class = whisper_class()
            except ImportError as exc:  # pragma: no cover - installation problem
                raise ModelUnavailable(f"faster-whisper is not installed ({exc}); run `pip install -e .`") from exc
            packaged(SILERO_VAD)
            if self.source.embedded:
                directory = embedded_whisper_dir(self.source.embedded, self.cache_dir)
            elif self.source.path is not None:
                directory = check_model_dir(Path(self.source.path), ("model.bin", "config.json"))
            else:  # WhisperModelSettings allows exactly one source
                raise ModelUnavailable(f"Whisper model {self.name!r} has neither an embedded model nor a path.")
            device = self.source.device
            if device == "auto":
                device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
            compute_type = self.source.compute_type
            if compute_type == "default":
                compute_type = "float16" if device == "cuda" else "int8"
            # On the CPU, one CTranslate2 worker per call the budget runs side by side (they
            # share the weights); on CUDA, the configured number.
            workers = max(1, self.budget.cores // self.cpu_threads) if device == "cpu" else self.source.num_workers
            try:
                model = model_class(
                    str(directory),
                    device=device,
                    compute_type=compute_type,
                    cpu_threads=self.cpu_threads,
                    num_workers=workers,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as exc:
                raise ModelUnavailable(f"cannot load Whisper model {self.name!r} from {directory}: {exc}") from exc
            sot = model.hf_tokenizer.token_to_id("<|startoftranscript|>")
            model.model = self.calls(model.model, sot, device, self._encoder(directory, device, compute_type))
            self.model, self.device, self.batcher = model, device, model.model.batcher
            log.info("loaded whisper model %s from %s on %s (%s)", self.name, directory, device, compute_type)

    def calls(self, inner: Any, sot: int, device: str, encoder: tuple[Any, Any] | None = None) -> BatchedModel:
        """How faster-whisper reaches the CTranslate2 model `inner` on `device` (`sot`: the id of
        `<|startoftranscript|>`; `encoder`: a wide encoder, see `_encoder`).

        The generate calls of a request's windows and of concurrent requests are batched on either
        device. On the CPU every call holds cores of the budget; on CUDA the CPU budget is not what
        limits a call, CTranslate2's workers run encodes and alignments side by side, and one
        batched generate runs at a time (the next batch gathers while it runs).
        """
        threads = self.cpu_threads
        on_cpu = device == "cpu"
        return BatchedModel(
            inner,
            (lambda: self.budget.compute(threads)) if on_cpu else nullcontext,
            self.cpu_batcher if on_cpu else self.device_batcher,
            self.capture,
            sot,
            encoder,
            host_outputs=not on_cpu,
        )

    def _encoder(self, directory: Path, device: str, compute_type: str) -> tuple[Any, Any] | None:
        """On the CPU, a second instance of the model for encoding, when it may run more threads.

        The encoder scales with threads where decoding does not (docs/benchmarks.md, the calls
        section): a window is encoded on every core when they are all free (a lone request),
        else on one core beside the other calls, never waiting for a wide slot.
        """
        threads = self.budget.threads("whisper_encode")
        if device != "cpu" or threads <= self.cpu_threads:
            return None
        import ctranslate2

        encoder = ctranslate2.models.Whisper(
            str(directory), device="cpu", compute_type=compute_type, intra_threads=threads, inter_threads=1
        )
        return encoder, lambda: self.budget.compute_if_free(threads)

    def unload(self) -> None:
        with self._load_lock:
            self.model = None
            self.batcher = None

    def footprint_estimate(self) -> int:
        """Bytes the loaded model takes, estimated from its weights file (plus its runtime buffers).

        CTranslate2 holds the weights once (int8 on CPU is about half of a float16 file, but the
        decoder's buffers make up for it), so the file's size is a fair first guess; the registry
        replaces it with the measured growth of the process once the model has loaded.
        """
        if self.source.path is not None:
            weights = files_size([Path(self.source.path) / "model.bin"])
        elif self.source.embedded == "whisper-base":
            weights = _packaged_size(WHISPER_BASE_PARTS)
        else:
            weights = _packaged_size(WHISPER_TINY_EN.values())
        if self.source.device != "cuda" and self.budget.threads("whisper_encode") > self.cpu_threads:
            weights *= 2  # the encoder's own instance (see _encoder); on CUDA there is none
        return weights + RUNTIME_OVERHEAD_BYTES

    def check_options(self, options: TranscribeOptions) -> None:
        """Refuse what this model cannot do, before any work starts."""
        if self.model is not None:
            check_keywords(options.keywords, self.model.hf_tokenizer)
        if self.multilingual:
            self._check_languages(options)
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
        if set(options.languages) - {"en"}:
            raise InvalidRequest(
                f"Model `{self.name}` is English-only; `languages[]` may only name `en`.",
                param="languages",
                code="invalid_value",
            )

    def _check_languages(self, options: TranscribeOptions) -> None:
        """`language` and `languages[]` name languages this model has: one it lacks (`yue` for base) would
        be ignored by detection or fail in faster-whisper."""
        known = self.languages
        if options.language is not None and options.language not in known:
            raise InvalidRequest(
                f"This model does not know language `{options.language}` ({len(known)} languages; "
                "a larger model such as large-v3 may).",
                param="language",
                code="unsupported_value",
            )
        unknown = [code for code in options.languages if code not in known]
        if unknown:
            raise InvalidRequest(
                f"This model cannot detect {', '.join(f'`{code}`' for code in unknown)} in `languages[]` "
                f"({len(known)} languages; a larger model such as large-v3 may).",
                param="languages",
                code="unsupported_value",
            )

    def transcribe(
        self,
        audio: np.ndarray | Iterable[np.ndarray],
        options: TranscribeOptions,
        on_segment: SegmentCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> Transcript:
        """Transcribe or translate float32 mono 16 kHz audio: one array, or a stream of blocks.

        Only speech is decoded (models/speech_windows.py), in windows decoded side by side
        (models/whisper_decode.py); a stream is transcribed piece by piece, so a long
        recording needs memory for one piece only. Segments reach `on_segment` in order as
        soon as they are decoded; their times are where their words are spoken. Raises
        `Cancelled` soon after `cancel` is set (at the next model call of any window).
        """
        self.load()
        self.check_options(options)
        blocks = [audio] if isinstance(audio, np.ndarray) else audio
        return Transcription(self, options, on_segment, cancel).run(blocks)

    def retokenized(self, segment: Segment) -> Segment:
        """The segment with its text tokens again, after a check cut its text (`tokens == ()`)."""
        if segment.tokens or not segment.text:
            return segment
        return replace(segment, tokens=self._tokens(segment.text))

    def retokenized_parts(self, whole: Segment, parts: list[Segment]) -> list[Segment]:
        """Parts of a segment cut at pauses, with their own tokens and their share of its logprobs."""
        if len(parts) == 1:
            return parts
        done, left = [], list(whole.logprobs)
        for part in parts:
            tokens = self._tokens(part.text)
            done.append(replace(part, tokens=tokens, logprobs=tuple(left[: len(tokens)])))
            left = left[len(tokens) :]
        return done

    def _tokens(self, text: str) -> tuple[int, ...]:
        return tuple(self.model.hf_tokenizer.encode(text, add_special_tokens=False).ids)

    def decode_kwargs(self, options: TranscribeOptions, context: Any = None) -> dict[str, Any]:
        return dict(
            language=options.language,
            task=options.task if self.multilingual else "transcribe",
            beam_size=1 if options.logprobs else options.beam_size or self.source.beam_size,
            temperature=list(options.temperatures),
            initial_prompt=prompt_tail(context) if isinstance(context, str) else context or None,
            word_timestamps=options.word_timestamps,
            hotwords=hotwords(options.keywords),
        )

    def segment(self, index: int, raw: Any, options: TranscribeOptions) -> Segment:
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
        for sequence, logprobs in reversed(self.capture.sequences):
            start = _find(sequence, tokens)
            if start < 0:
                continue
            found = zip(tokens, logprobs[start : start + len(tokens)], strict=False)  # logprobs may stop short
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


PROMPT_TAIL_CHARS = 4096
"""Whisper reads only the end of a prompt (its last 223 tokens: OpenAI says "the final 224 tokens"), so a
longer prompt is cut to its last 4,096 characters (hundreds of tokens of any real text) before it is
tokenized. Tokenized whole, an 8 MB prompt cost 6.7 s of CPU per window and +900 MiB kept for good."""


def prompt_tail(prompt: str) -> str | None:
    """The end of `prompt` that Whisper can read, from a word's start; None for no prompt."""
    if len(prompt) <= PROMPT_TAIL_CHARS:
        return prompt or None
    tail = prompt[-PROMPT_TAIL_CHARS:]
    space = tail.find(" ", 0, 64)
    return tail[space + 1 :] if space >= 0 else tail


RUNTIME_OVERHEAD_BYTES = 32 * 1024 * 1024
"""Per loaded model beyond its weights: tokenizer, feature extractor, CTranslate2 buffers."""


def _packaged_size(items: Any) -> int:
    try:
        return files_size(package_dir(item.package) / item.relpath for item in items)
    except ModelUnavailable:  # not installed: the load will say so
        return 0


def _find(haystack: list[int], needle: list[int]) -> int:
    if not needle:
        return -1
    for i in range(len(haystack) - len(needle), -1, -1):
        if haystack[i : i + len(needle)] == needle:
            return i
    return -1
