"""Speaker embeddings from resemblyzer's voice encoder (a GE2E d-vector LSTM, 256 dimensions).

The weights ship inside the `resemblyzer` wheel, so this works offline. They are verified by
sha256 before they are loaded. Every embedding is an L2-normalised float32 vector, so the
cosine similarity of two embeddings is their dot product.

Two uses: diarization (sliding windows over a recording, `embed_windows`) and speaker
verification (one vector per clip, `embed`).
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.compute import CpuBudget
from models.errors import ModelUnavailable
from models.types import SAMPLE_RATE

RESEMBLYZER_WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
"""sha256 of `resemblyzer/pretrained.pt` as shipped in resemblyzer 0.1.4."""

FRAME_S = 0.01
"""The encoder's mel frames are 25 ms windows every 10 ms."""

PARTIAL_S = 1.6
"""The window length the encoder was trained on."""

TARGET_DBFS = -30.0
"""Quiet audio is raised to this level before embedding (the encoder's training level)."""


@dataclass(frozen=True)
class WindowEmbeddings:
    """Embeddings of overlapping windows of one stretch of audio; times in seconds."""

    starts: np.ndarray = field(repr=False)  # (n,) float
    ends: np.ndarray = field(repr=False)  # (n,) float
    vectors: np.ndarray = field(repr=False)  # (n, dim) float32, unit rows

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def centers(self) -> np.ndarray:
        centers: np.ndarray = (self.starts + self.ends) / 2
        return centers


def unit(vector: np.ndarray) -> np.ndarray:
    """`vector` scaled to unit length (rows, if 2-D); zero vectors stay zero."""
    norm = np.linalg.norm(vector, axis=-1, keepdims=True)
    scaled: np.ndarray = vector / np.maximum(norm, 1e-12)
    return scaled.astype(np.float32)


def raise_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise quiet audio to `target_dbfs` (RMS); louder audio is left alone."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 1e-6:
        return samples
    gain_db = target_dbfs - 20 * np.log10(rms)
    if gain_db <= 0:
        return samples
    louder: np.ndarray = samples * 10 ** (gain_db / 20)
    return louder.astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class SpeakerEncoder:
    """resemblyzer's VoiceEncoder behind a small API: `embed` and `embed_windows`."""

    name = "resemblyzer"
    dim = 256

    def __init__(
        self,
        budget: CpuBudget | None = None,
        *,
        weights: Path | None = None,
        sha256: str | None = RESEMBLYZER_WEIGHTS_SHA256,
        batch_size: int = 64,
    ):
        self.budget = budget or CpuBudget()
        self.weights = weights
        self.sha256 = sha256
        self.batch_size = batch_size
        self._encoder: Any = None  # resemblyzer's VoiceEncoder once loaded (untyped package)
        self._mel: Any = None
        self._torch: Any = None

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    def load(self) -> None:
        """Import torch and resemblyzer, verify the weights, build the encoder on the CPU."""
        if self._encoder is not None:
            return
        for package, hint in (("torch", "torch==2.13.0"), ("resemblyzer", "resemblyzer")):
            if importlib.util.find_spec(package) is None:
                raise ModelUnavailable(
                    f"The speaker encoder needs the `{package}` package: pip install '{hint}'."
                )
        try:
            import torch
            from resemblyzer import VoiceEncoder
            from resemblyzer.audio import wav_to_mel_spectrogram
        except ImportError as exc:  # e.g. webrtcvad without pkg_resources (setuptools>=81)
            raise ModelUnavailable(
                f"resemblyzer cannot be imported ({exc}); it needs `setuptools<81` for webrtcvad."
            ) from exc
        weights = self.weights
        if weights is None:
            spec = importlib.util.find_spec("resemblyzer")
            if spec is None or spec.origin is None:  # found above; a namespace package has no origin
                raise ModelUnavailable("The speaker encoder weights are missing: resemblyzer has no files.")
            weights = Path(spec.origin).parent / "pretrained.pt"
        if not weights.is_file():
            raise ModelUnavailable(f"The speaker encoder weights are missing: {weights}.")
        if self.sha256 and _sha256(weights) != self.sha256:
            raise ModelUnavailable(
                f"The speaker encoder weights {weights} do not match sha256 {self.sha256}; "
                "reinstall resemblyzer."
            )
        torch.set_num_threads(self.budget.threads("speaker"))
        encoder = VoiceEncoder(device="cpu", verbose=False, weights_fpath=weights)
        encoder.eval()
        self._torch = torch
        self._mel = wav_to_mel_spectrogram
        self._encoder = encoder

    def unload(self) -> None:
        self._encoder = None

    # --- the encoder itself -------------------------------------------------------------

    def _require(self) -> Any:
        if self._encoder is None:
            raise ModelUnavailable("The speaker encoder is not loaded; call load() first.")
        return self._encoder

    def mel(self, samples: np.ndarray) -> np.ndarray:
        """The encoder's input features, (frames, 40), one frame every 10 ms."""
        self._require()
        mel: np.ndarray = self._mel(np.ascontiguousarray(samples, dtype=np.float32))
        return mel

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        """Embed a batch of equal-length mel windows (n, frames, 40) -> (n, 256)."""
        encoder = self._require()
        torch = self._torch
        out = []
        threads = self.budget.threads("speaker")
        with self.budget.compute(threads), torch.inference_mode():
            torch.set_num_threads(threads)
            for i in range(0, len(batch), self.batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(batch[i : i + self.batch_size]))
                out.append(encoder(chunk).numpy())
        return unit(np.concatenate(out)) if out else np.zeros((0, self.dim), np.float32)

    # --- public API ---------------------------------------------------------------------

    def embed(self, samples: np.ndarray, *, step_s: float = 0.4) -> np.ndarray:
        """One unit vector for a clip of one speaker: the mean of its windows' embeddings."""
        windows = self.embed_windows(raise_volume(samples), window_s=PARTIAL_S, step_s=step_s)
        if not len(windows):
            raise ValueError("cannot embed an empty clip")
        return unit(windows.vectors.mean(axis=0))

    def embed_windows(
        self,
        samples: np.ndarray,
        *,
        window_s: float = PARTIAL_S,
        step_s: float = 0.4,
        offset_s: float = 0.0,
    ) -> WindowEmbeddings:
        """Embeddings of windows of `window_s` every `step_s` over `samples`.

        The last window ends at the end of the audio; audio shorter than one window yields a
        single window over all of it. Times are offset by `offset_s` (the position of
        `samples` in a longer recording).
        """
        n_frames_audio = int(len(samples) / (SAMPLE_RATE * FRAME_S))
        if n_frames_audio < 2:
            empty = np.zeros(0)
            return WindowEmbeddings(empty, empty, np.zeros((0, self.dim), np.float32))
        mel = self.mel(samples)
        width = max(1, round(window_s / FRAME_S))
        step = max(1, round(step_s / FRAME_S))
        total = len(mel)
        if total <= width:
            starts = [0]
            width = total
        else:
            starts = list(range(0, total - width + 1, step))
            if starts[-1] + width < total:
                starts.append(total - width)
        batch = np.stack([mel[s : s + width] for s in starts])
        vectors = self._forward(batch)
        frames = np.asarray(starts, dtype=np.float64)
        return WindowEmbeddings(
            starts=offset_s + frames * FRAME_S,
            ends=offset_s + np.minimum((frames + width) * FRAME_S, len(samples) / SAMPLE_RATE),
            vectors=vectors,
        )

    def similarity(self, a: np.ndarray, b: np.ndarray) -> float:
        """Cosine similarity of two embeddings."""
        return float(np.dot(unit(a), unit(b)))
