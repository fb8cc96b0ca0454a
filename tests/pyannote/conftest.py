"""Fixtures of the pyannote adapter tests: pyannote's sample recording and a random-weight pipeline."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.pyannote.pipelines import build_random_pipeline


@pytest.fixture(scope="session")
def pyannote_audio() -> Any:
    return pytest.importorskip("pyannote.audio", reason="needs the pyannote venv (scripts/pyannote-venv)")


@pytest.fixture(scope="session")
def sample(pyannote_audio: Any) -> np.ndarray:
    """pyannote's own 30 s two-speaker recording (16 kHz mono int16 wav), as float32."""
    path = Path(pyannote_audio.__file__).parent / "sample" / "sample.wav"
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 16000, 2)
        pcm = wav.readframes(wav.getnframes())
    return np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0


@pytest.fixture(scope="session")
def pipeline_dir(pyannote_audio: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_pipeline(tmp_path_factory.mktemp("pyannote") / "pipeline")
