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


def _segment(
    text: str, start: float = 0.0, end: float = 5.0, words: tuple[Word, ...] = (), **quality: float
) -> Segment:
    figures = {"avg_logprob": -0.3, "no_speech_prob": 0.1, **quality}
    return Segment(
        id=0, seek=0, start=start, end=end, text=text, tokens=(1, 2), temperature=0.0, compression_ratio=1.2,
        words=words, **figures,
    )


def _words(text: str, start: float = 1.0, step: float = 0.5) -> tuple[Word, ...]:
    length = min(0.4, step * 0.8)  # each word takes most of its step
    return tuple(
        Word(word=f" {w}", start=start + i * step, end=start + i * step + length, probability=0.9)
        for i, w in enumerate(text.split())
    )


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


def test_a_looped_phrase_squeezed_in_time_is_cut_after_its_first_copy():
    looped = "I am here. " + "So I don't hear that. " * 3
    words = _words("I am here. So I don't hear that.") + _words("So I don't hear that. " * 2, start=5.0, step=0.03)
    segment = _segment(looped, words=words)
    cut = cut_loop(segment)
    assert cut.text.split() == "I am here. So I don't hear that.".split()
    assert cut.end == cut.words[-1].end < segment.end
    assert cut.tokens == ()  # the worker tokenizes the new text


def test_a_phrase_said_again_in_its_own_time_is_speech_not_a_loop():
    """A new user's recording: "That's what I said" three times, each copy 0.8 s of real speech."""
    said = "That's what I said, that's what I said, that's what I said."
    segment = _segment(said, words=_words(said, step=0.25))
    assert cut_loop(segment) == segment
    assert loop_start(_words("row " * 3)) is None


def test_many_copies_are_a_loop_whatever_their_timing():
    looped = "I am here. " * 6
    cut = cut_loop(_segment(looped, words=_words(looped)))
    assert cut.text.split() == ["I", "am", "here."]


@pytest.mark.parametrize(
    "text",
    ["no, no, no, I said", "I think that that is right", "very very good", "one two three four five six"],
)
def test_ordinary_repetition_is_not_a_loop(text):
    assert loop_start(_words(text)) is None


def test_a_single_word_repeated_many_times_is_a_loop():
    assert loop_start(_words("ok ok ok ok ok ok ok")) == 1


def test_a_segment_that_repeats_the_one_before_squeezed_is_dropped_one_said_again_is_kept():
    said = _segment(" This is Diane in New Jersey.", words=_words("This is Diane in New Jersey."))
    squeezed_copy = _segment(
        " this is Diane in New Jersey", words=_words("this is Diane in New Jersey", start=9.0, step=0.02)
    )
    again = _segment(" This is Diane in New Jersey.", words=_words("This is Diane in New Jersey.", start=12.0))
    kept = drop_repeats([said, squeezed_copy, again])
    assert kept == [said, again]
    assert drop_repeats([squeezed_copy], previous=" This is Diane in New Jersey.") == []


def test_words_squeezed_into_no_time_are_not_speech():
    """A new user's find: a prompt made Whisper add "I'm in New Jersey now." at 29.964 s, every word 0 s long."""
    text = " I'm in New Jersey now."
    zero = tuple(Word(word=f" {w}", start=29.964, end=29.964, probability=0.5) for w in text.split())
    assert not is_speech(_segment(text, words=zero))
    assert is_speech(_segment(text, words=_words(text)))
    assert is_speech(_segment(" Okay.", words=(Word(" Okay.", 10.90, 10.98, 0.9),)))  # one short word is speech
    # the same find with another prompt: "I don't know." in 0.16 s after the last word
    dont_know = (Word(" I", 29.80, 29.84, 0.5), Word(" don't", 29.84, 29.90, 0.5), Word(" know.", 29.90, 29.96, 0.5))
    assert not is_speech(_segment(" I don't know.", words=dont_know))


def test_a_segment_is_split_at_a_long_pause_and_bounded_by_its_words():
    words = _words("one two three") + _words("four five", start=30.0)
    segment = _segment(" one two three four five", start=0.0, end=40.0, words=words)
    parts = [bounded_by_words(p) for p in split_at_pauses(segment)]
    assert [p.text for p in parts] == [" one two three", " four five"]
    assert (parts[0].start, parts[0].end) == (1.0, words[2].end)
    assert (parts[1].start, parts[1].end) == (30.0, words[-1].end)
    one_two = _segment(" one two", words=_words("one two"))
    assert split_at_pauses(one_two) == [one_two]
