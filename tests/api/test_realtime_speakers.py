"""Speakers live: with the diarizing model every completed turn also gets `.segment` events whose speaker
labels hold across the session."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tests.api.test_realtime import append, events_until, open_session, pcm16, silence, transcripts
from tests.helpers import read_audio, word_error_rate

DIARIZE = {"audio": {"input": {"transcription": {"model": "gpt-4o-transcribe-diarize", "language": "en"}}}}
TWO_VOICES = [
    "Let us start with the budget for the next quarter.",
    "The campaign did better than we expected in the north.",
    "Could you send me the report by the end of the week please?",
    "Of course, I will have it ready by Thursday afternoon.",
]


async def session_events(client: Any, audio: np.ndarray) -> list[Any]:
    conn = await open_session(client, DIARIZE)
    try:
        await append(conn, pcm16(np.concatenate([audio, silence(1.0)])))
        await conn.input_audio_buffer.clear()
        seen = await events_until(conn, "input_audio_buffer.cleared")
        committed = sum(e.type == "input_audio_buffer.committed" for e in seen)
        seen += await transcripts(conn, committed - sum(e.type.endswith((".completed", ".failed")) for e in seen))
    finally:
        await conn.close()
    assert not [e for e in seen if e.type in ("error", "conversation.item.input_audio_transcription.failed")], seen
    return seen


def segments_of(seen: list[Any]) -> list[Any]:
    return [e for e in seen if e.type == "conversation.item.input_audio_transcription.segment"]


async def test_two_voices_keep_their_labels_turn_after_turn(async_client, fixture_audio):
    seen = await session_events(async_client, read_audio(fixture_audio("en_two_voices.flac"), 24000))
    done = [e for e in seen if e.type.endswith(".completed")]
    segments = segments_of(seen)
    assert len(done) == 4, [e.transcript for e in done]
    for item, text in zip(done, TWO_VOICES, strict=True):
        assert word_error_rate(text, item.transcript) < 0.25, item.transcript
        mine = [s for s in segments if s.item_id == item.item_id]
        assert mine and word_error_rate(item.transcript, " ".join(s.text for s in mine)) < 0.1
        # each segment comes before its item's completed event
        assert seen.index(mine[-1]) < seen.index(item)
    speakers = [Counter(s.speaker for s in segments if s.item_id == item.item_id).most_common(1)[0][0] for item in done]
    assert speakers == ["A", "B", "A", "B"], speakers
    assert len({s.id for s in segments}) == len(segments)
    for earlier, later in itertools.pairwise(segments):  # session time, in order
        assert earlier.start < earlier.end <= later.start + 0.5


def rttm(path: Path) -> list[tuple[float, float, str]]:
    rows = []
    for line in path.read_text().splitlines():
        fields = line.split()
        start, length = float(fields[3]), float(fields[4])
        rows.append((start, start + length, fields[7]))
    return rows


async def test_a_real_two_speaker_call_is_labelled_consistently(async_client, fixture_audio):
    """pyannote's sample (two people on the phone): segment labels agree with the reference, one label each."""
    sample = fixture_audio("pyannote_sample/sample.wav")
    reference = rttm(sample.with_suffix(".rttm"))
    segments = segments_of(await session_events(async_client, read_audio(sample, 24000)))
    overlap: Counter[tuple[str, str]] = Counter()
    for segment in segments:
        for start, end, who in reference:
            overlap[(segment.speaker, who)] += max(0.0, min(end, segment.end) - max(start, segment.start))
    labels = {s.speaker for s in segments}
    mapping = {label: max(("speaker90", "speaker91"), key=lambda who: overlap[(label, who)]) for label in labels}
    right = sum(v for (label, who), v in overlap.items() if mapping[label] == who)
    total = sum(overlap.values())
    assert len(set(mapping.values())) == 2, (mapping, overlap)  # both people were told apart
    assert len(labels) == 2, (mapping, overlap)  # and no third speaker (a brief first "Hello?" was one)
    assert right / total >= 0.8, (right / total, overlap, [(s.start, s.end, s.speaker, s.text) for s in segments])


async def test_one_voice_is_one_speaker_turn_after_turn(async_client, fixture_audio):
    """One voice in two turns is one speaker (the engine's split of one voice is covered in tests/models)."""
    fox = read_audio(fixture_audio("en_fox.flac"), 24000)
    weather = read_audio(fixture_audio("en_weather.flac"), 24000)
    segments = segments_of(await session_events(async_client, np.concatenate([fox, silence(1.5), weather])))
    assert len({s.item_id for s in segments}) == 2
    assert {s.speaker for s in segments} == {"A"}, [(s.speaker, s.text) for s in segments]
