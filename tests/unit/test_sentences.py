"""Sentence splitting and the pieces a TTS worker synthesises (models/sentences.py)."""

from __future__ import annotations

import pytest

from models.sentences import Joint, Piece, split_sentences, speech_pieces


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there. How are you? Fine!", ["Hello there.", "How are you?", "Fine!"]),
        ("Mr. Smith met Dr. Jones at 3.14 p.m. sharp.", ["Mr. Smith met Dr. Jones at 3.14 p.m. sharp."]),
        ("J. R. R. Tolkien wrote it. Then he slept.", ["J. R. R. Tolkien wrote it.", "Then he slept."]),
        ("Books, e.g. The Hobbit, are fun.", ["Books, e.g. The Hobbit, are fun."]),
        ('He said "Stop!" Then he left.', ['He said "Stop!"', "Then he left."]),
        ("Wait... what? No.", ["Wait... what?", "No."]),
        ("It costs $3.50 today. Really.", ["It costs $3.50 today.", "Really."]),
        ("A title\nThe body text. More", ["A title", "The body text.", "More"]),
        ("  lots   of\tspace .  ", ["lots of space ."]),
        ("你好。再见！", ["你好。", "再见！"]),
        ("... -- !!", []),
        ("", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_pieces_are_sentences_and_the_last_one_ends():
    pieces = speech_pieces("One sentence here. And another one.")
    assert pieces == [Piece("One sentence here.", Joint.SENTENCE), Piece("And another one.", Joint.END)]


def test_first_piece_is_short_and_cut_after_a_content_word():
    text = "Audio gateway speaks the OpenAI audio API so that official clients work. Next."
    pieces = speech_pieces(text, first_chars=24)
    assert pieces[0] == Piece("Audio gateway speaks", Joint.WORD)  # not "... speaks the"
    assert pieces[1].text.startswith("the OpenAI audio API")
    assert " ".join(p.text for p in pieces) == text


def test_first_piece_prefers_a_clause_mark():
    pieces = speech_pieces("Well, as I said before, we should go now.", first_chars=30)
    assert pieces[0] == Piece("Well, as I said before,", Joint.CLAUSE)


def test_a_short_first_sentence_is_not_cut():
    pieces = speech_pieces("Hi there. This second sentence is rather longer than the first.", first_chars=20)
    assert [p.text for p in pieces] == ["Hi there.", "This second sentence is rather longer than the first."]


def test_long_sentences_are_bounded_and_nothing_is_lost():
    text = ", ".join(f"clause number {i} of a very long sentence" for i in range(30)) + "."
    pieces = speech_pieces(text, first_chars=30, max_chars=120)
    assert all(len(p.text) <= 120 for p in pieces)
    assert len(pieces[0].text) <= 30
    assert " ".join(p.text for p in pieces) == text
    assert all(p.joint in (Joint.CLAUSE, Joint.WORD) for p in pieces[:-1])
    assert pieces[-1].joint is Joint.END


def test_a_word_longer_than_the_limit_stays_whole():
    word = "x" * 50
    pieces = speech_pieces(f"{word} and more words here.", max_chars=20)
    assert pieces[0].text == word
    assert " ".join(p.text for p in pieces) == f"{word} and more words here."
