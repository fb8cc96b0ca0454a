"""Sentence splitting and the pieces a TTS worker synthesises (models/sentences.py)."""

from __future__ import annotations

import random
import unicodedata

import pytest

from models.sentences import Joint, Piece, speech_pieces, split_sentences


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


def test_a_word_longer_than_the_limit_is_cut_inside_it():
    """A hard bound: a piece's cost grows with its length, so no piece is longer, whatever the text."""
    word = "x" * 50
    pieces = speech_pieces(f"{word} and more words here.", max_chars=20)
    assert [p.text for p in pieces] == ["x" * 20, "x" * 20, "x" * 10 + " and more", "words here."]
    assert [p.joint for p in pieces] == [Joint.WORD, Joint.WORD, Joint.WORD, Joint.END]


def test_a_four_thousand_letter_word_is_bounded_pieces_and_nothing_is_lost():
    word = ("hello" * 800)[:4000]
    pieces = speech_pieces(word, first_chars=30, max_chars=300)
    assert len(pieces[0].text) <= 60
    assert all(len(p.text) <= 300 for p in pieces)
    assert "".join(p.text for p in pieces) == word
    assert len(pieces) == 1 + -(-(4000 - len(pieces[0].text)) // 300)


def test_a_long_word_is_cut_at_a_space_before_anywhere():
    """Cut at the last space within reach; only a word longer than the bound is cut inside."""
    text = "short words " + "y" * 25 + " then " + "z" * 40
    pieces = speech_pieces(text, max_chars=30)
    assert [p.text for p in pieces] == ["short words", "y" * 25 + " then", "z" * 30, "z" * 10]


def test_a_cut_inside_a_word_keeps_accents_with_their_letters():
    word = "e\u0301" * 30  # 60 characters: "é" written as e + combining acute accent
    pieces = speech_pieces(word, max_chars=25)
    assert all(len(p.text) <= 25 for p in pieces)
    assert all(not unicodedata.combining(p.text[0]) for p in pieces)
    assert "".join(p.text for p in pieces) == word


def test_first_piece_is_short_and_later_pieces_longer():
    """Issue 17: the first piece is short (an early first byte under load too), the others long."""
    text = (
        "When a voice agent answers a long question with a single long sentence and no full stop "
        "for a while the listener still hears the first words at once because only they are "
        "synthesised before the first audio leaves while the rest follows in longer pieces"
    )
    pieces = speech_pieces(text, first_chars=30, max_chars=120)
    assert len(pieces[0].text) <= 30 and pieces[0].joint is Joint.WORD
    assert text.startswith(pieces[0].text + " ")
    assert all(30 < len(p.text) <= 120 for p in pieces[1:-1])
    assert " ".join(p.text for p in pieces) == text


@pytest.mark.parametrize(("length", "cut"), [(45, 45), (60, 60), (61, 60), (200, 60)])
def test_a_long_first_word_stays_whole_up_to_twice_the_first_bound(length, cut):
    word = "w" * length
    pieces = speech_pieces(f"{word} is long.", first_chars=30, max_chars=300)
    assert pieces[0].text == word[:cut]
    assert pieces[1].text == (word[cut:] + " is long.").strip()


def test_pieces_of_random_text_are_bounded_and_keep_every_character():
    """Seeded random text of words, long runs, clause marks and sentence ends."""
    rng = random.Random(7)
    alphabet = "abcdefghij,;.!? -" + "é" + "中"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) if rng.random() < 0.9 else "k" * rng.randrange(1, 500) for _ in range(200))
        first, limit = rng.choice([(0, 50), (20, 80), (30, 300)])
        pieces = speech_pieces(text, first_chars=first, max_chars=limit)
        assert all(p.text and len(p.text) <= limit for p in pieces)
        if pieces and first:
            assert len(pieces[0].text) <= 2 * first
        spoken = "".join(p.text for p in pieces).replace(" ", "")
        kept = "".join(split_sentences(text)).replace(" ", "")
        assert spoken == kept
