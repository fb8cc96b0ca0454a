"""Option bundles for the workers. Defaults live here, once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WHISPER_FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


@dataclass(frozen=True)
class VadParameters:
    """Voice-activity chunking (OpenAI's `server_vad`), run on the bundled Silero VAD."""

    threshold: float = 0.5
    prefix_padding_ms: int = 300
    silence_duration_ms: int = 200
    min_speech_ms: int = 0  # shorter bursts are not speech (clicks, a cough)


SPEECH_GATE = VadParameters(threshold=0.5, prefix_padding_ms=300, silence_duration_ms=1000, min_speech_ms=250)
"""How the default path (no `chunking_strategy`) finds speech before decoding it: only these
regions reach Whisper, packed into 30-second windows (models/speech_windows.py)."""


@dataclass(frozen=True)
class TranscribeOptions:
    """What one transcription or translation asks of a Whisper worker."""

    task: str = "transcribe"  # or "translate"
    language: str | None = None  # ISO-639-1; None detects
    prompt: str | None = None
    temperature: float = 0.0  # 0 means Whisper's fallback over WHISPER_FALLBACK_TEMPERATURES
    word_timestamps: bool = False
    logprobs: bool = False
    vad: VadParameters | None = None  # None: the audio is decoded as one block
    beam_size: int = 5
    keywords: tuple[str, ...] = ()  # words or phrases to spell right: Whisper's hotwords, every window
    languages: tuple[str, ...] = ()  # ISO-639-1 codes detection may choose from; () = any

    @property
    def temperatures(self) -> tuple[float, ...]:
        if self.temperature == 0:
            return WHISPER_FALLBACK_TEMPERATURES
        return (self.temperature,)


@dataclass(frozen=True)
class KnownSpeaker:
    """A named reference clip (float32 mono 16 kHz) for known-speaker assignment."""

    name: str
    samples: np.ndarray


@dataclass(frozen=True)
class DiarizeOptions:
    """What a diarization engine is asked for."""

    known_speakers: tuple[KnownSpeaker, ...] = ()
    min_speakers: int | None = None
    max_speakers: int | None = None


@dataclass(frozen=True)
class SynthesizeOptions:
    """What one speech request asks of a TTS worker."""

    speed: float = 1.0  # 0.25..4.0; divides Piper's length scale
    speaker_id: int | None = None  # for multi-speaker Piper models
    length_scale: float | None = None  # None: the voice's own
    noise_scale: float | None = None
    noise_w: float | None = None
    sample_rate: int = 24_000  # what the caller receives
