"""The embedded diarization engine on real speech: pyannote's sample, and conversations of
espeak-ng and Piper voices with exact references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.diarization.embedded import EmbeddedDiarizer
from models.errors import ModelUnavailable
from models.options import DiarizeOptions, KnownSpeaker
from models.speaker import SpeakerEncoder
from samples import speech
from tests.helpers import read_audio

VOICES = ["piper:joe", "en-us+m3", "en-us+f4"]


@pytest.fixture(scope="module")
def engine() -> EmbeddedDiarizer:
    engine = EmbeddedDiarizer()
    engine.load()
    return engine


@pytest.fixture(scope="module")
def sample() -> speech.Conversation:
    return speech.pyannote_sample()


@pytest.fixture(scope="module")
def three_voices() -> speech.Conversation:
    return speech.round_robin(VOICES, 9, seed=7)


def speakers(turns) -> set[str]:
    return {t.speaker for t in turns}


def test_encoder_embeddings_are_unit_vectors_that_tell_voices_apart(engine):
    encoder = engine.encoder
    joe_1 = encoder.embed(speech.piper(speech.SENTENCES[0]))
    joe_2 = encoder.embed(speech.piper(speech.SENTENCES[1]))
    f4 = encoder.embed(speech.espeak(speech.SENTENCES[1], "en-us+f4"))
    assert np.linalg.norm(joe_1) == pytest.approx(1.0, abs=1e-4)
    assert encoder.similarity(joe_1, joe_2) > encoder.similarity(joe_1, f4) + 0.1


def test_encoder_windows_cover_the_clip(engine):
    clip = speech.piper(speech.SENTENCES[2])
    windows = engine.encoder.embed_windows(clip, window_s=1.0, step_s=0.25, offset_s=5.0)
    assert len(windows) >= 3
    assert windows.starts[0] == pytest.approx(5.0)
    assert windows.ends[-1] == pytest.approx(5.0 + len(clip) / speech.SAMPLE_RATE, abs=0.02)
    assert np.allclose(np.linalg.norm(windows.vectors, axis=1), 1.0, atol=1e-4)


def test_encoder_refuses_weights_that_fail_the_checksum():
    encoder = SpeakerEncoder(sha256="0" * 64)
    with pytest.raises(ModelUnavailable, match="sha256"):
        encoder.load()


def test_der_on_pyannote_sample_is_under_20_percent(engine, sample):
    turns = engine.diarize(sample.samples, DiarizeOptions())
    assert speakers(turns) == {"A", "B"}
    assert speech.der(sample.turns, turns) < 0.20


def test_three_voice_conversation(engine, three_voices):
    turns = engine.diarize(three_voices.samples, DiarizeOptions())
    assert speakers(turns) == {"A", "B", "C"}
    assert list(dict.fromkeys(t.speaker for t in turns)) == ["A", "B", "C"]  # order of first appearance
    assert speech.der(three_voices.turns, turns) < 0.10


def test_a_voice_heard_once_briefly_is_a_speaker_of_its_own(engine):
    conv = speech.conversation([("piper:joe", speech.SENTENCES[7]), ("en-gb-scotland+m7", speech.SENTENCES[8]),
                                ("piper:joe", speech.SENTENCES[2]), ("en-us+f4", speech.SENTENCES[6]),
                                ("piper:joe", speech.SENTENCES[11])], seed=2)
    turns = engine.diarize(conv.samples, DiarizeOptions())
    assert speakers(turns) == {"A", "B", "C"}  # m7 and f4 have one turn of about 3 s each
    assert speech.der(conv.turns, turns) < 0.10


def test_one_voice_is_one_speaker(engine):
    monologue = speech.round_robin(["piper:joe"], 5, seed=3)
    turns = engine.diarize(monologue.samples, DiarizeOptions())
    assert speakers(turns) == {"A"}


def test_a_short_clip_of_one_voice_is_one_speaker(engine):
    turns = engine.diarize(read_audio(Path(__file__).parents[1] / "fixtures" / "en_fox.flac"), DiarizeOptions())
    assert turns and speakers(turns) == {"A"}


def test_silence_has_no_turns(engine):
    rng = np.random.default_rng(0)
    assert engine.diarize(rng.normal(0, 1e-4, 16000 * 5).astype(np.float32), DiarizeOptions()) == []


def test_max_speakers_is_respected(engine, three_voices):
    turns = engine.diarize(three_voices.samples, DiarizeOptions(max_speakers=1))
    assert speakers(turns) == {"A"}


def test_known_speakers_come_back_by_name(engine, three_voices):
    # references are other sentences than any spoken in the conversation
    known = (
        KnownSpeaker("joe", speech.piper("Please remember to lock the front door tonight.")),
        KnownSpeaker("fiona", speech.espeak("Please remember to lock the front door tonight.", "en-us+f4")),
    )
    turns = engine.diarize(three_voices.samples, DiarizeOptions(known_speakers=known))
    assert speakers(turns) == {"joe", "fiona", "A"}
    named = [(start, end, {"joe": "piper:joe", "fiona": "en-us+f4", "A": "en-us+m3"}[who]) for start, end, who in
             ((t.start, t.end, t.speaker) for t in turns)]
    assert speech.der(three_voices.turns, named) < 0.10


def test_known_speakers_from_the_sample_itself(engine, sample):
    known = tuple(KnownSpeaker(name, speech.cut(sample, spk)) for name, spk in
                  (("alice", "speaker90"), ("bob", "speaker91")))
    turns = engine.diarize(sample.samples, DiarizeOptions(known_speakers=known))
    assert speakers(turns) == {"alice", "bob"}
    renamed = [(t.start, t.end, {"alice": "speaker90", "bob": "speaker91"}[t.speaker]) for t in turns]
    assert speech.der(sample.turns, renamed) < 0.20


def test_a_known_speaker_who_is_absent_takes_no_one_s_turns(engine, three_voices):
    known = (KnownSpeaker("scot", speech.espeak("Please remember to lock the front door tonight.",
                                                "en-gb-scotland+m7")),)
    turns = engine.diarize(three_voices.samples, DiarizeOptions(known_speakers=known))
    assert speakers(turns) == {"A", "B", "C"}


def test_an_empty_reference_is_an_invalid_request(engine, sample):
    from models.errors import InvalidRequest

    known = (KnownSpeaker("nobody", np.zeros(0, np.float32)),)
    with pytest.raises(InvalidRequest) as info:
        engine.diarize(sample.samples, DiarizeOptions(known_speakers=known))
    assert info.value.param == "known_speaker_references[0]"


def test_whisper_with_diarization_names_who_said_what(engine, tmp_path_factory):
    from models.compute import CpuBudget
    from models.diarization.transcriber import DiarizingTranscriber
    from models.options import TranscribeOptions
    from models.whisper import WhisperSource, WhisperWorker

    whisper = WhisperWorker("tiny.en", WhisperSource(embedded="whisper-tiny.en"), CpuBudget(),
                            tmp_path_factory.mktemp("cache"))
    worker = DiarizingTranscriber("diarize", whisper, engine)
    conv = speech.conversation([("piper:joe", speech.SENTENCES[1]), ("en-us+f4", speech.SENTENCES[6]),
                                ("piper:joe", speech.SENTENCES[9]), ("en-us+f4", speech.SENTENCES[10]),
                                ("piper:joe", speech.SENTENCES[3])], seed=1)
    known = (KnownSpeaker("joe", speech.piper("Please remember to lock the front door tonight.")),)
    streamed = []
    transcript = worker.transcribe(conv.samples, TranscribeOptions(language="en"),
                                   DiarizeOptions(known_speakers=known), on_segment=streamed.append)
    assert [s.id for s in transcript.segments] == list(range(len(transcript.segments)))
    assert streamed == list(transcript.segments)
    by_speaker = {}
    for segment in transcript.segments:
        by_speaker.setdefault(segment.speaker, []).append(segment.text.lower())
    assert set(by_speaker) == {"joe", "A"}
    assert "budget" in " ".join(by_speaker["joe"]) and "campaign" in " ".join(by_speaker["A"])
