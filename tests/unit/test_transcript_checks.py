"""Checks on decoded segments: not speech, loops, repeats, pauses, word-tight times."""

from __future__ import annotations

import pytest

from models.transcript_checks import (
    bounded_by_words,
    cut_loop,
    drop_repeats,
    has_words,
    is_speech,
    loop_start,
    split_at_pauses,
)
from models.types import Segment, Word


def _segment(text: str, start: float = 0.0, end: float = 5.0, words: tuple[Word, ...] = (), **quality: float) -> Segment:
    figures = {"avg_logprob": -0.3, "no_speech_prob": 0.1, **quality}
    return Segment(
        id=0, seek=0, start=start, end=end, text=text, tokens=(1, 2), temperature=0.0, compression_ratio=1.2,
        words=words, **figures,
    )


def _words(text: str, start: float = 1.0, step: float = 0.5) -> tuple[Word, ...]:
    return tuple(Word(word=f" {w}", start=start + i * step, end=start + i * step + 0.4, probability=0.9) for i, w in enumerate(text.split()))


@pytest.mark.parametrize("text", [" ...", " ♪ ♪", " - !", "", " 。", " ¿?"])
def test_punctuation_and_symbols_are_not_speech(text):
    assert not has_words(text)
    assert not is_speech(_segment(text))


@pytest.mark.parametrize("text", [" Hello.", " 42", " 你好", " Привет", " नमस्ते"])
def test_words_in_any_script_are_speech(text):
    assert is_speech(_segment(text))


def test_whispers_silence_rule_drops_a_segment_it_believes_is_no_speech():
    assert not is_speech(_segment(" Thank you.", no_speech_prob=0.8, avg_logprob=-1.2))
    assert is_speech(_segment(" Thank you.", no_speech_prob=0.8, avg_logprob=-0.4))  # confident text stays
    assert is_speech(_segment(" Thank you.", no_speech_prob=0.3, avg_logprob=-1.2))


def test_a_looped_phrase_is_cut_after_its_first_copy():
    looped = "I am here. " + "So I don't hear that. " * 4
    segment = _segment(looped, words=_words(looped))
    cut = cut_loop(segment)
    assert cut.text.split() == "I am here. So I don't hear that.".split()
    assert cut.end == cut.words[-1].end < segment.end
    assert cut.tokens == ()  # the worker tokenizes the new text


@pytest.mark.parametrize(
    "text",
    ["no, no, no, I said", "I think that that is right", "very very good", "one two three four five six"],
)
def test_ordinary_repetition_is_not_a_loop(text):
    assert loop_start(text.split()) is None


def test_a_single_word_repeated_many_times_is_a_loop():
    assert loop_start("ok ok ok ok ok ok ok".split()) == 1


def test_a_segment_that_repeats_the_one_before_is_dropped():
    segments = [_segment(" This is Diane in New Jersey."), _segment(" this is Diane in New Jersey"), _segment(" Yes."), _segment(" Yes.")]
    kept = drop_repeats(segments)
    assert [s.text for s in kept] == [" This is Diane in New Jersey.", " Yes.", " Yes."]
    assert drop_repeats(segments[1:2], previous=" This is Diane in New Jersey.") == []


def test_a_segment_is_split_at_a_long_pause_and_bounded_by_its_words():
    words = _words("one two three") + _words("four five", start=30.0)
    segment = _segment(" one two three four five", start=0.0, end=40.0, words=words)
    parts = [bounded_by_words(p) for p in split_at_pauses(segment)]
    assert [p.text for p in parts] == [" one two three", " four five"]
    assert (parts[0].start, parts[0].end) == (1.0, words[2].end)
    assert (parts[1].start, parts[1].end) == (30.0, words[-1].end)
    assert split_at_pauses(_segment(" one two", words=_words("one two"))) == [_segment(" one two", words=_words("one two"))]
