"""The consent phrase check on transcripts (the calibration's real Whisper outputs among them)."""

from __future__ import annotations

import pytest

from models.consent import DEFAULT_PHRASES, ConsentPhrases, align, tokens, word_cost

CHECK = ConsentPhrases(organizations=("OpenAI", "Acme Studios"))
EN = "I am the owner of this voice and I consent to OpenAI using this voice to create a synthetic voice model."


def test_tokens_and_word_cost():
    assert tokens("I'm the owner, of THIS voice!") == ["i", "m", "the", "owner", "of", "this", "voice"]
    assert tokens("Je consens à ce que", "fr") == ["je", "consens", "à", "ce", "que"]
    assert tokens("我确认", "zh") == ["我", "确", "认"]
    assert word_cost("voice", "voice") == 0
    assert word_cost("inhaber", "inhaberin") == pytest.approx(2 / 9)
    assert word_cost("openai", "google") == 1.0


def test_best_window_ignores_words_around_the_phrase():
    result = align(tokens("one two three four"), tokens("hello there one two three four thank you"))
    assert result.cost == 0 and (result.start, result.end) == (2, 6)


@pytest.mark.parametrize(
    "heard",
    [
        EN,
        # real Whisper base outputs from the calibration (espeak-ng and Piper voices, some with noise)
        "I am the owner of this voice and I consent to open AI using this voice to create a synthetic voice model.",
        "I'm the owner of this voice, and I consent to open the eye using this voice to create a synthetic voice model.",
        "I am the owner of this voice and I consent to open AI using this voice to create a sympathetic voice model.",
        "Hello, my name is Jo. I am the owner of this voice and I consent to Acme Studios using this voice to create a synthetic voice model.",
        "I am the owner of this voice, and I consent to our studio using this voice to create a synthetic voice model.",
        "I am the owner of this voice and I consent to hack this studio using this voice to create a synthetic voice model.",
        "Soy el propietario de esa voz y moi mi consentimiento para quedar Me estudios utilicé esa voz para quedar un modelo de voz simpética.",
    ],
)
def test_accepts_the_phrase_with_recognition_noise(heard):
    verdict = CHECK.verify(heard, "es" if heard.startswith("Soy") else "en")
    assert verdict.accepted, verdict


@pytest.mark.parametrize(
    ("heard", "reason"),
    [
        ("The quick brown fox jumps over the lazy dog.", "differs"),
        ("I am the owner of this house and I agree to pay the rent every month.", "differs"),
        ("I am the owner of this voice.", "differs"),
        ("This voice may be used to create a synthetic voice model.", "differs"),
        ("I am the owner of this voice, and I consent to hack these two deals using this voice to create a synthetic voice model.", "organisation"),
        ("I am not the owner of this voice and I consent to OpenAI using this voice to create a synthetic voice model.", "negation"),
        ("I am the owner of this voice and I don't consent to OpenAI using this voice to create a synthetic voice model.", "negation"),
        ("I am the owner of this voice and I consent to Google using this voice to create a synthetic voice model.", "organisation"),
        (EN + " Just kidding, none of this is true and you may never use my voice for anything at all.", "negation"),
        (EN + " " + "And then I went to the shop to buy some bread and milk for the whole family.", "besides"),
        ("", "no speech"),
    ],
)
def test_refuses_a_different_sentence(heard, reason):
    verdict = CHECK.verify(heard, "en")
    assert not verdict.accepted and reason in verdict.reason, verdict
    assert verdict.expected in {EN, EN.replace("OpenAI", "Acme Studios")}


@pytest.mark.parametrize("language", sorted(DEFAULT_PHRASES))
def test_every_default_phrase_matches_itself_for_both_organisations(language):
    for phrase, names in CHECK.phrases(language):
        assert names, phrase  # every template names the organisation
        assert CHECK.verify(phrase, language).accepted


def test_german_gender_form_and_foreign_negation():
    phrase = DEFAULT_PHRASES["de"][0].replace("{organization}", "OpenAI")
    assert CHECK.verify(phrase.replace("der Inhaber", "die Inhaberin"), "de").accepted
    assert not CHECK.verify(phrase.replace("ich willige ein", "ich willige nicht ein"), "de").accepted


def test_unknown_language_is_a_key_error():
    with pytest.raises(KeyError):
        CHECK.verify("hello", "tlh")
