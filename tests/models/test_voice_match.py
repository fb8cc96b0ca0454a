"""The custom-voice matcher on the real speaker encoder and the real embedded Piper voice."""

from __future__ import annotations

import numpy as np
import pytest

from models.compute import CpuBudget
from models.options import SynthesizeOptions
from models.piper import EMBEDDED_VOICE, PiperWorker
from models.speaker import SpeakerEncoder
from models.types import SAMPLE_RATE
from models.voice_match import VoiceMatcher, from_bytes, to_bytes
from tests.helpers import espeak_speech, read_audio

PASSAGE = "Hello, this is a sample of my voice. I like walking in the park in the morning."


@pytest.fixture(scope="module")
def piper() -> PiperWorker:
    worker = PiperWorker("piper", CpuBudget())
    worker.load()
    return worker


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    encoder = SpeakerEncoder(CpuBudget())
    encoder.load()
    return encoder


def joe(piper: PiperWorker, text: str) -> np.ndarray:
    chunks = piper.synthesize(text, EMBEDDED_VOICE, SynthesizeOptions(sample_rate=SAMPLE_RATE))
    return np.frombuffer(b"".join(c.pcm for c in chunks), dtype="<i2").astype(np.float32) / 32768


def test_same_speaker_accepted_other_refused_nearest_found(piper, encoder, tmp_path):
    matcher = VoiceMatcher(encoder, threshold=0.75, cache_dir=tmp_path)
    consent = joe(piper, "I am the owner of this voice and I consent to OpenAI using this voice.")
    same = matcher.assess(joe(piper, PASSAGE), piper, consent_audio=consent)
    assert same.same_speaker and same.similarity > 0.85
    assert same.nearest is not None and same.nearest.voice == EMBEDDED_VOICE and same.nearest.similarity > 0.8
    other = matcher.assess(read_audio(espeak_speech(PASSAGE)), piper, consent_vector=same.consent_vector)
    assert not other.same_speaker and other.similarity < 0.7 and other.nearest is None


def test_the_piper_catalogue_is_cached_on_disk(piper, encoder, tmp_path):
    first = VoiceMatcher(encoder, threshold=0.75, cache_dir=tmp_path).catalogue(piper)
    assert list(first) == [EMBEDDED_VOICE]
    assert len(list(tmp_path.glob("piper-voice-embeddings-*.npz"))) == 1

    class NoSynthesis:  # injected fault: a second process must not synthesise again
        def __getattr__(self, name):
            if name == "synthesize":
                raise AssertionError("the cached table was not used")
            return getattr(piper, name)

    again = VoiceMatcher(encoder, threshold=0.75, cache_dir=tmp_path).catalogue(NoSynthesis())
    assert np.allclose(again[EMBEDDED_VOICE], first[EMBEDDED_VOICE])


def test_embeddings_round_trip_as_bytes():
    vector = np.linspace(-1, 1, 256, dtype=np.float32)
    assert np.array_equal(from_bytes(to_bytes(vector)), vector)
