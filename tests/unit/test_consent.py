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
        # Piper's joe in CI: the second "and I" heard as "and that" (the key word `I` is heard once)
        "I am the owner of this voice, and that consent to open air using this voice to create a synthetic voice model.",
        "Soy el propietario de esta voz y voy mi consentimiento para que open a ir a un dirice para crear un modelo de voz sintética.",
        "Soy el propietario de esa voz y voy mi consentimiento para que acme su Dios la te dice para crear un modelo de voz sintética.",
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
    assert CHECK.verify(phrase.replace("der Eigentümer", "die Eigentümerin"), "de").accepted
    assert not CHECK.verify(phrase.replace("bin damit", "bin nicht damit"), "de").accepted


def test_the_published_phrases_of_all_16_languages():
    assert sorted(DEFAULT_PHRASES) == sorted("de en es fr hi id it ja ko nl pl pt ru uk vi zh".split())
    assert DEFAULT_PHRASES["ja"][0].startswith("私はこの音声の所有者であり、{organization}が")
    assert DEFAULT_PHRASES["zh"][0] == "我是此声音的拥有者并授权{organization}使用此声音创建语音合成模型"


def test_other_scripts_are_tokenised_by_their_words_and_marks():
    # Devanagari vowel signs and the anusvara stay in their word
    assert tokens("मैं इस आवाज का मालिक हूं", "hi") == ["मैं", "इस", "आवाज", "का", "मालिक", "हूं"]
    assert tokens("Я являюсь владельцем", "ru") == ["я", "являюсь", "владельцем"]
    # a Latin name glued to a Korean particle is a word of its own
    assert tokens("OpenAI가 이 음성을", "ko") == ["openai", "가", "이", "음성을"]
    # languages without spaces: characters, with a Latin name kept whole
    assert tokens("授权OpenAI使用", "zh") == ["授", "权", "openai", "使", "用"]
    assert tokens("所有者であり、OpenAIが", "ja") == ["所", "有", "者", "で", "あ", "り", "openai", "が"]


@pytest.mark.parametrize(
    ("language", "heard", "accepted"),
    [
        # Whisper-like variations: punctuation, spaces between characters, one character misheard
        ("zh", "我是此声音的拥有者，并授权 OpenAI 使用此声音创建语音合成模型。", True),
        ("zh", "我是此声音的拥有者并授权OpenAI使用此声音创建语音和成模型", True),
        ("zh", "我不是此声音的拥有者并授权OpenAI使用此声音创建语音合成模型", False),  # 不: negation
        ("zh", "我是此声音的拥有者并授权Google使用此声音创建语音合成模型", False),
        ("zh", "今天天气很好，我们去公园散步。", False),
        ("ja", "私はこの音声の所有者であり、OpenAIがこの音声を使用して音声合成モデルを作成することを承認します。", True),
        ("ja", "私はこの音声の所有者であり、OpenAIがこの音声を使用して音声合成モデルを作成することを承認しません。", False),
        ("ko", "나는 이 음성의 소유자이며 OpenAI가 이 음성을 사용하여 음성 합성 모델을 생성할 것을 허용합니다.", True),
        ("ko", "나는 이 음성의 소유자이며 OpenAI가 이 음성을 사용하여 음성 합성 모델을 생성할 것을 허용하지 않습니다.", False),
        ("ru", "Я являюсь владельцем этого голоса и даю согласие OpenAI на использование этого голоса для создания модели синтетического голоса.", True),
        ("ru", "Я не являюсь владельцем этого голоса и не даю согласие OpenAI на использование этого голоса.", False),
        ("uk", "Я є власником цього голосу і не даю згоду OpenAI використовувати цей голос для створення синтетичної голосової моделі.", False),
        ("hi", "मैं इस आवाज का मालिक हूं और मैं सिंथेटिक आवाज मॉडल बनाने के लिए OpenAI को इस आवाज का उपयोग करने की सहमति देता हूं।", True),
        ("hi", "मैं इस आवाज का मालिक नहीं हूं और मैं सिंथेटिक आवाज मॉडल बनाने के लिए OpenAI को इस आवाज का उपयोग करने की सहमति देता हूं", False),
        ("vi", "Tôi là chủ sở hữu giọng nói này và tôi không đồng ý cho OpenAI sử dụng giọng nói này để tạo mô hình giọng nói tổng hợp.", False),
    ],
)
def test_phrases_in_other_scripts(language, heard, accepted):
    assert CHECK.verify(heard, language).accepted is accepted


def test_unknown_language_is_a_key_error():
    with pytest.raises(KeyError):
        CHECK.verify("hello", "tlh")


@pytest.mark.parametrize(
    ("language", "heard", "accepted"),
    [
        # OpenAI written in the language's own script, as Whisper base wrote it for Kokoro's voice
        ("ja", "私はこの音声の所有者であり、オープンAIがこの音声を使用して、音声合成モデルを作成することを承認します。", True),
        ("ru", "Я являюсь владельцем этого голоса и даю согласие Опен Эй Ай на использование этого голоса для создания модели синтетического голоса.", True),
        # Whisper base on Kokoro's Russian: the name's syllables are paired with its neighbours
        ("ru", "Я являюсь в ладьельцем, этого голоса, идаюся гласии опи. Эй, ай, но использован и этого голоса для создания модели синтетитического голоса.", True),
        ("ru", "Я являюсь в ладьельцем, этого голоса, идаюся гласии Гугл, но использован и этого голоса для создания модели синтетитического голоса.", False),
        ("ko", "나는 이 음성의 소유자이며 오픈AI가 이 음성을 사용하여 음성 합성 모델을 생성할 것을 허용합니다.", True),
        ("hi", "मैं इस आवाज का मालिक हूं और मैं सिंथेटिक आवाज मॉडल बनाने के लिए ओपन एआई को इस आवाज का उपयोग करने की सहमति देता हूं", True),
        # another company stays another company in any script
        ("ja", "私はこの音声の所有者であり、グーグルがこの音声を使用して、音声合成モデルを作成することを承認します。", False),
        ("ru", "Я являюсь владельцем этого голоса и даю согласие Гугл на использование этого голоса для создания модели синтетического голоса.", False),
        ("ko", "나는 이 음성의 소유자이며 구글이 이 음성을 사용하여 음성 합성 모델을 생성할 것을 허용합니다.", False),
        ("hi", "मैं इस आवाज का मालिक हूं और मैं सिंथेटिक आवाज मॉडल बनाने के लिए गूगल को इस आवाज का उपयोग करने की सहमति देता हूं", False),
    ],
)
def test_the_organisation_written_in_another_script(language, heard, accepted):
    verdict = CHECK.verify(heard, language)
    assert verdict.accepted is accepted, verdict
    if not accepted:
        assert "another organisation" in verdict.reason


def test_script_prompts_are_written_in_their_languages_script():
    """The prompts set the script only: they hold nothing of the phrase they help to hear."""
    from models.consent import latin

    for language, prompt in CHECK.prompts.items():
        phrase = tokens(DEFAULT_PHRASES[language][0], language)
        assert latin(prompt) != prompt.casefold()  # not Latin letters
        assert not set(tokens(prompt, language)) & (set(phrase) - {"的", "是", "का", "के", "है"}), language


def test_marks_whisper_writes_either_way_are_folded():
    from models.consent import fold, words

    # Vietnamese: tone marks go, vowel letters (ô ơ ư â ê ă) and đ stay
    assert words("Tôi là chủ sở hữu giọng nói", "vi") == ["tôi", "la", "chu", "sơ", "hưu", "giong", "noi"]
    assert fold("tối", "vi") == fold("tôi", "vi") != fold("tơi", "vi")
    assert fold("đồng", "vi") == "đông" and fold("không", "vi") == "không"
    # Hindi: long and short i/u, candrabindu and anusvara, nukta
    assert words("हूँ सहमती ज़रूर", "hi") == words("हुं सहमति जरुर", "hi")
    assert fold("मालिक", "en") == "मालिक"  # other languages compare as written


@pytest.mark.parametrize(
    ("language", "heard", "accepted"),
    [
        # Whisper base on Kokoro's Vietnamese: many tones wrong, a few words misheard (0.48 as written, 0.32 folded)
        ("vi", "Tối lạch chú, sơ hữu Zon Nói Nà I Wà, Tối Đông I Chô Open Arise, Zung Zon Nói Nà I Dẹp Thà U Mô Hì, Zon Nói Thông Hàp.", True),
        # the negation heard without its tone, and a tone-less transcript naming another company
        ("vi", "Tôi la chu sơ hưu giong noi nay va tôi không đông y cho OpenAI sư dung giong noi nay đê tao mô hinh giong noi tông hơp.", False),
        ("vi", "Toi la chu so huu giong noi nay va toi khong dong y cho OpenAI su dung giong noi nay de tao mo hinh giong noi tong hop.", False),
        ("vi", "Tôi là chủ sở hữu giọng nói này và tôi đồng ý cho Google sử dụng giọng nói này để tạo mô hình giọng nói tổng hợp.", False),
        ("vi", "Tôi không phải là chủ sở hữu giọng nói này và tôi không đồng ý.", False),
        # Hindi spelled with the other vowel lengths and a candrabindu
        ("hi", "मैं इस आवाज़ का मालिक हूँ और मैं सिंथेटिक आवाज मॉडल बनाने के लिए OpenAI को इस आवाज का उपयोग करने की सहमती देता हुं", True),
        ("hi", "मैं इस आवाज़ का मालिक हूँ और मैं सिंथेटिक आवाज मॉडल बनाने के लिए गूगल को इस आवाज का उपयोग करने की सहमती देता हुं", False),
    ],
)
def test_folded_phrases(language, heard, accepted):
    verdict = CHECK.verify(heard, language)
    assert verdict.accepted is accepted, verdict


NO_LEXICON = ConsentPhrases(organizations=("OpenAI",), negations={})


def _phrase(language: str) -> str:
    return DEFAULT_PHRASES[language][0].replace("{organization}", "OpenAI")


@pytest.mark.parametrize(
    ("language", "heard", "reason"),
    [
        # somebody else's consent, or nobody's
        ("en", EN.replace("I am", "Nobody is").replace("I consent", "nobody consents"), "negation"),
        ("en", EN.replace("I am", "He is").replace("I consent", "he consents"), "first person"),
        ("en", EN.replace("I am", "You are").replace("I consent", "you consent"), "first person"),
        ("en", EN.replace("I am", "She is"), "first person"),
        # one key word heard, the other replaced: the lexicon's `he` refuses it (Whisper hears the second
        # "and I" as "and that" in some genuine recordings, so a key word is required once, not every time)
        ("en", EN.replace("and I consent", "and he consents"), "negation"),
        # a denial, whatever tense Whisper hears it in (a new user's "I deny that I am" heard "I denied that I am")
        ("en", "I denied that I am the owner" + EN.split("I am the owner", 1)[1], "negation"),
        ("en", "I denied this. " + EN, "negation"),
        ("en", EN.replace("I am", "My friend is"), "first person"),
        # taken back, conditioned or asked
        ("en", EN + " Just kidding, I take it back.", "negation"),
        ("en", EN + " I hereby revoke that.", "negation"),
        ("en", EN + " I withdrew it.", "negation"),
        ("en", EN + " Or maybe later then.", "after the approved phrase"),
        ("en", EN.replace("I am", "If I were").replace("I consent", "I would consent"), "condition"),
        ("en", EN.replace("I am", "Am I").replace("and I consent", "and do I consent").rstrip(".") + "?", "first person"),
        ("en", EN.rstrip(".") + "?", "question"),
        # the same in other languages
        ("de", _phrase("de").replace("Ich bin", "Niemand ist").replace("und bin", "und niemand ist"), "negation"),
        ("de", _phrase("de").replace("Ich bin", "Er ist").replace("und bin", "und ist"), "first person"),
        ("de", _phrase("de") + " Ich widerrufe das.", "negation"),
        ("de", "Wenn " + _phrase("de"), "condition"),
        ("es", _phrase("es").replace("Soy", "Nadie es").replace("doy mi", "nadie da su"), "negation"),
        ("es", _phrase("es").replace("Soy", "Él es").replace("doy mi", "da su"), "first person"),
        ("es", "¿" + _phrase("es").rstrip(".") + "?", "question"),
        ("fr", _phrase("fr").replace("Je suis", "Il est").replace("j'autorise", "il autorise"), "first person"),
        ("fr", "Si " + _phrase("fr"), "condition"),
        ("ru", _phrase("ru").replace("Я являюсь", "Никто не является"), "negation"),
        ("ru", _phrase("ru").replace("Я являюсь", "Он является").replace("даю", "дает"), "first person"),
        ("ja", _phrase("ja").replace("私は", "彼は"), "first person"),
        ("ja", _phrase("ja") + "冗談です。", "negation"),
        ("zh", _phrase("zh").replace("我是", "他是"), "first person"),
        ("zh", "如果" + _phrase("zh"), "negation"),
        ("zh", _phrase("zh") + "吗？", "negation"),
        ("it", _phrase("it").replace("Sono", "Lui è").replace("e acconsento", "e acconsente"), "first person"),
        # another person named where Whisper's mishearings leave no key word to require (ko 나는 as 넌은),
        # or a near miss of a first-person verb that is another person's form (the ending changed)
        ("ko", _phrase("ko").replace("나는", "그는"), "negation"),
        ("it", _phrase("it").replace("e acconsento", "e lui acconsente"), "negation"),
        ("pt", _phrase("pt").replace("autorizo", "autoriza"), "negation"),
        ("pl", _phrase("pl").replace("wyrażam", "ona wyraża"), "negation"),
        ("ru", _phrase("ru").replace("даю", "он дает"), "negation"),
        ("vi", _phrase("vi").replace("Tôi là", "Anh ấy là").replace("và tôi", "và anh ấy"), "first person"),
        ("hi", _phrase("hi").replace("मैं इस", "वह इस"), "negation"),
    ],
)
def test_refuses_what_is_not_the_speakers_own_declaration(language, heard, reason):
    verdict = CHECK.verify(heard, language)
    assert not verdict.accepted, verdict
    if reason == "first person":  # the key words refuse it on their own, without the lexicon's pronouns
        verdict = NO_LEXICON.verify(heard, language)
        assert not verdict.accepted, verdict
    assert reason in verdict.reason, verdict


@pytest.mark.parametrize(
    ("language", "heard"),
    [
        ("en", EN.replace("I am", "I'm")),
        ("en", EN + " Thank you."),
        ("en", "Hello, my name is Jo. " + EN),
        ("de", _phrase("de").replace("einverstanden", "ein verstanden")),
        ("es", _phrase("es") + " Gracias."),
        ("fr", _phrase("fr").replace("j'autorise", "je autorise")),
    ],
)
def test_accepts_the_first_person_declaration_as_whisper_writes_it(language, heard):
    verdict = CHECK.verify(heard, language)
    assert verdict.accepted, verdict


def test_key_words_are_words_of_their_phrase():
    from models.consent import DEFAULT_KEY_WORDS, words

    assert sorted(DEFAULT_KEY_WORDS) == sorted(DEFAULT_PHRASES)
    for language, keys in DEFAULT_KEY_WORDS.items():
        phrase = words(DEFAULT_PHRASES[language][0], language)
        assert all(words(key, language)[0] in phrase for key in keys), language


def test_key_words_and_trailing_words_are_configurable():
    heard = EN.replace("I am", "He is").replace("I consent", "he consents") + " Thanks a lot, everyone."
    assert not CHECK.verify(heard, "en").accepted
    loose = ConsentPhrases(key_words={}, negations={}, max_trailing_words=8)
    assert loose.verify(heard, "en").accepted
