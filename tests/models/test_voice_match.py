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
from tests.helpers import espeak_speech, pitched_joe_voice, read_audio

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


def joe(piper: PiperWorker, text: str, voice: str = EMBEDDED_VOICE) -> np.ndarray:
    chunks = piper.synthesize(text, voice, SynthesizeOptions(sample_rate=SAMPLE_RATE))
    return np.frombuffer(b"".join(c.pcm for c in chunks), dtype="<i2").astype(np.float32) / 32768


@pytest.fixture(scope="module")
def three_voices(tmp_path_factory) -> PiperWorker:
    """Piper with joe and two really different voices made from it (higher, lower)."""
    folder = tmp_path_factory.mktemp("voices")
    pitched_joe_voice(folder, "en_US-joehigh-medium", 30_000)
    pitched_joe_voice(folder, "en_US-joelow-medium", 17_000)
    worker = PiperWorker("piper", CpuBudget(), voices_dir=folder)
    worker.load()
    return worker


def test_same_speaker_accepted_other_refused_nearest_found(piper, encoder, tmp_path):
    matcher = VoiceMatcher(encoder, threshold=0.75, cache_dir=tmp_path)
    consent = joe(piper, "I am the owner of this voice and I consent to OpenAI using this voice.")
    same = matcher.assess(joe(piper, PASSAGE), piper, consent_audio=consent)
    assert same.same_speaker and same.similarity > 0.85
    assert same.nearest is not None and same.nearest.voice == EMBEDDED_VOICE and same.nearest.similarity > 0.8
    other = matcher.assess(read_audio(espeak_speech(PASSAGE)), piper, consent_vector=same.consent_vector)
    assert not other.same_speaker and other.similarity < 0.7 and other.nearest is None


def test_the_nearest_of_several_installed_voices_is_the_one_that_spoke(three_voices, encoder, tmp_path):
    matcher = VoiceMatcher(encoder, threshold=0.75, cache_dir=tmp_path)
    table = matcher.catalogue(three_voices)
    assert list(table) == [EMBEDDED_VOICE, "en_US-joehigh-medium", "en_US-joelow-medium"]
    # the voices really differ: each pair is under the same-speaker threshold
    names = list(table)
    assert all(matcher.similarity(table[a], table[b]) < 0.75 for a in names for b in names if a < b)
    for voice in names:
        sample = matcher.embed(joe(three_voices, PASSAGE, voice))
        nearest = matcher.nearest(sample, three_voices)
        assert nearest.voice == voice and nearest.similarity > 0.85, (voice, nearest)


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
