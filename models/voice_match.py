"""Custom voices: is a sample's speaker the consent's speaker, and which Piper voice sounds nearest?

Piper cannot clone a voice. A custom voice is therefore spoken by the installed Piper voice
(model, and speaker for a multi-speaker model) whose speaker embedding is nearest to the
sample's. Each installed Piper voice is embedded once, from a reference passage it speaks,
and the table is kept on disk (keyed by the installed voice ids) so that a restart does not
recompute it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.options import SynthesizeOptions
from models.types import SAMPLE_RATE

log = logging.getLogger(__name__)

REFERENCE_TEXT = (
    "The north wind and the sun were arguing about which of them was stronger, when a traveller came along "
    "wrapped in a warm cloak. They agreed that the one who first made him take it off would be the stronger."
)
"""What every Piper voice says to be embedded (a classic phonetically balanced passage)."""


def to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").copy()


@dataclass(frozen=True)
class Nearest:
    voice: str  # Piper voice id: "model" or "model:speaker"
    similarity: float


@dataclass(frozen=True)
class Assessment:
    """A voice sample judged against its consent recording."""

    consent_vector: np.ndarray = field(repr=False)
    sample_vector: np.ndarray = field(repr=False)
    similarity: float
    same_speaker: bool
    nearest: Nearest | None  # only looked up for a sample of the consent's speaker


class VoiceMatcher:
    """Speaker embeddings for custom voices: the speaker check and the nearest Piper voice.

    `encoder` has `embed(samples) -> unit vector` (models.speaker.SpeakerEncoder). Every
    method blocks; callers run them in a worker thread.
    """

    def __init__(
        self,
        encoder: Any,
        *,
        threshold: float,
        cache_dir: Path | None = None,
        max_speakers_per_model: int = 32,
    ):
        self.encoder = encoder
        self.threshold = threshold
        self.cache_dir = cache_dir
        self.max_speakers_per_model = max_speakers_per_model
        self._catalogue: dict[str, np.ndarray] | None = None
        self._catalogue_key: str | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return bool(self.encoder.loaded)

    def load(self) -> None:
        self.encoder.load()

    def unload(self) -> None:
        self.encoder.unload()

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """The speaker embedding of float32 mono 16 kHz audio of one speaker (unit vector)."""
        self.load()
        return np.asarray(self.encoder.embed(samples), dtype=np.float32)

    @staticmethod
    def similarity(a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings."""
        return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))

    def assess(
        self,
        sample: np.ndarray,
        piper: Any,
        *,
        consent_audio: np.ndarray | None = None,
        consent_vector: np.ndarray | None = None,
    ) -> Assessment:
        """Compare a sample (16 kHz audio) with a consent, given by its audio or its known embedding.

        For a sample of the consent's speaker, also find the nearest installed Piper voice.
        """
        if consent_vector is None:
            if consent_audio is None:
                raise ValueError("give the consent's audio or its embedding")
            consent_vector = self.embed(consent_audio)
        sample_vector = self.embed(sample)
        score = self.similarity(sample_vector, consent_vector)
        same = score >= self.threshold
        nearest = self.nearest(sample_vector, piper) if same else None
        return Assessment(consent_vector, sample_vector, score, same, nearest)

    # --- the nearest Piper voice ---------------------------------------------------------

    def nearest(self, vector: np.ndarray, piper: Any) -> Nearest:
        """The installed Piper voice whose embedding is nearest to `vector`."""
        table = self.catalogue(piper)
        best = max(table, key=lambda voice: self.similarity(vector, table[voice]))
        return Nearest(voice=best, similarity=self.similarity(vector, table[best]))

    def catalogue(self, piper: Any) -> dict[str, np.ndarray]:
        """Embedding of every installed Piper voice (computed once; cached in memory and on disk)."""
        piper.load()
        voices = list(self.candidates(piper))
        key = hashlib.sha256(json.dumps([REFERENCE_TEXT, voices]).encode()).hexdigest()[:16]
        with self._lock:
            if self._catalogue is not None and self._catalogue_key == key:
                return self._catalogue
            table = self._read_cache(key)
            missing = [v for v in voices if v not in table]
            for voice in missing:
                table[voice] = self.embed(self._speak(piper, voice))
                log.info("embedded Piper voice %s for custom-voice matching", voice)
            if missing:
                self._write_cache(key, table)
            self._catalogue, self._catalogue_key = {v: table[v] for v in voices}, key
            return self._catalogue

    def candidates(self, piper: Any) -> Iterable[str]:
        """Voice ids to consider: each model, or up to `max_speakers_per_model` of its named speakers."""
        for info in piper.voices():
            if info.speakers:
                for speaker in info.speakers[: self.max_speakers_per_model]:
                    yield f"{info.name}:{speaker}"
            else:
                yield info.name

    @staticmethod
    def _speak(piper: Any, voice: str) -> np.ndarray:
        chunks = piper.synthesize(REFERENCE_TEXT, voice, SynthesizeOptions(sample_rate=SAMPLE_RATE))
        pcm = b"".join(chunk.pcm for chunk in chunks)
        return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0

    def _cache_path(self, key: str) -> Path | None:
        return self.cache_dir / f"piper-voice-embeddings-{key}.npz" if self.cache_dir else None

    def _read_cache(self, key: str) -> dict[str, np.ndarray]:
        path = self._cache_path(key)
        if path is None or not path.exists():
            return {}
        try:
            with np.load(path) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            log.warning("ignoring an unreadable voice-embedding cache %s: %s", path, exc)
            return {}

    def _write_cache(self, key: str, table: dict[str, np.ndarray]) -> None:
        path = self._cache_path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{threading.get_ident()}.tmp.npz")
        np.savez(partial, **table)  # type: ignore[arg-type]  # numpy's stub: a key could be `allow_pickle`
        partial.replace(path)

