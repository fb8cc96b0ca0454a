"""OpenAI's approved consent phrases, their first-person words, and the words that turn one into a refusal.

The phrases are OpenAI's published wording in its 16 languages (the custom-voices guide,
"Creating a voice consent"), word for word, with `{organization}` where it says "OpenAI".
The Hindi and Chinese sentences are published without a final full stop; the Japanese one
with a space inside 音声合成 モデル, which matching ignores (it compares characters).
"""

from __future__ import annotations

ORGANIZATION = "{organization}"
"""The placeholder in a phrase template for the organisation's name."""

DEFAULT_PHRASES: dict[str, tuple[str, ...]] = {
    "de": (
        "Ich bin der Eigentümer dieser Stimme und bin damit einverstanden, dass {organization} diese Stimme "
        "zur Erstellung eines synthetischen Stimmmodells verwendet.",
    ),
    "en": (
        "I am the owner of this voice and I consent to {organization} using this voice to create a synthetic "
        "voice model.",
    ),
    "es": (
        "Soy el propietario de esta voz y doy mi consentimiento para que {organization} la utilice para crear "
        "un modelo de voz sintética.",
    ),
    "fr": (
        "Je suis le propriétaire de cette voix et j'autorise {organization} à utiliser cette voix pour créer "
        "un modèle de voix synthétique.",
    ),
    "hi": (
        "मैं इस आवाज का मालिक हूं और मैं सिंथेटिक आवाज मॉडल बनाने के लिए {organization} को इस आवाज का उपयोग करने "
        "की सहमति देता हूं",
    ),
    "id": (
        "Saya adalah pemilik suara ini dan saya memberikan persetujuan kepada {organization} untuk menggunakan "
        "suara ini guna membuat model suara sintetis.",
    ),
    "it": (
        "Sono il proprietario di questa voce e acconsento che {organization} la utilizzi per creare un modello "
        "di voce sintetica.",
    ),
    "ja": (
        "私はこの音声の所有者であり、{organization}がこの音声を使用して"
        "音声合成 モデルを作成することを承認します。",
    ),
    "ko": ("나는 이 음성의 소유자이며 {organization}가 이 음성을 사용하여 음성 합성 모델을 생성할 것을 허용합니다.",),
    "nl": (
        "Ik ben de eigenaar van deze stem en ik geef {organization} toestemming om deze stem te gebruiken om een "
        "synthetisch stemmodel te maken.",
    ),
    "pl": (
        "Jestem właścicielem tego głosu i wyrażam zgodę na wykorzystanie go przez {organization} w celu "
        "utworzenia syntetycznego modelu głosu.",
    ),
    "pt": (
        "Eu sou o proprietário desta voz e autorizo o {organization} a usá-la para criar um modelo de voz "
        "sintética.",
    ),
    "ru": (
        "Я являюсь владельцем этого голоса и даю согласие {organization} на использование этого голоса для "
        "создания модели синтетического голоса.",
    ),
    "uk": (
        "Я є власником цього голосу і даю згоду {organization} використовувати цей голос для створення "
        "синтетичної голосової моделі.",
    ),
    "vi": (
        "Tôi là chủ sở hữu giọng nói này và tôi đồng ý cho {organization} sử dụng giọng nói này để tạo mô hình "
        "giọng nói tổng hợp.",
    ),
    "zh": ("我是此声音的拥有者并授权{organization}使用此声音创建语音合成模型",),
}

# fmt: off
DEFAULT_NEGATIONS: dict[str, tuple[str, ...]] = {
    # Words that turn the phrase into a refusal when heard and not in the phrase: negations
    # (`not`, `nobody`), retractions (`revoke`, `take it back`, `just kidding`), conditionals
    # (`if I were ...`) and another person in the phrase (`he`, `er`, `il`; a near miss of the
    # first-person verb that is another person's form: it `acconsente`, pt `autoriza`, ru `дает`).
    # Whole words; `x-` is any word beginning with `x` (Korean's 않습니다, `revoked`). For the
    # languages compared by characters (ja, zh) they are character sequences found anywhere in
    # the transcript. `t` is what is left of "don't" once apostrophes split words.
    # Vietnamese has only its negations: once tones are folded its conditional, retraction and
    # pronoun words (nếu, rút, đùa, anh ấy) are syllables Whisper makes of misheard speech.
    "en": (
        "not", "no", "never", "nor", "neither", "cannot", "t", "refuse", "withdr-", "withh-", "nobody", "none",
        "nothing", "revok-", "retract-", "rescind-", "cancel-", "back", "kidding", "joking", "joke", "if", "unless",
        "would", "pretend", "he", "she", "they",
        # framing that makes the phrase a quotation or a supposition, or takes it back after
        "suppose-", "imagin-", "hypothetic-", "say", "says", "said", "read", "quote-", "repeat-", "deny", "deni-",
        "false-", "claim-", "lie", "lying", "nope", "psych", "ha", "haha", "her", "his", "their", "someone",
        "somebody",
    ),
    "de": (
        "nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nein", "weder", "niemand",
        "niemanden", "nichts", "widerruf-", "zurück", "scherz-", "spaß", "wenn", "falls", "würde", "wäre", "er",
    ),
    "es": (
        "no", "nunca", "jamás", "ni", "tampoco", "nadie", "nada", "ninguno", "ninguna", "revoc-", "retiro", "broma",
        "si", "él", "ella", "ellos", "usted",
    ),
    "fr": (
        "ne", "n", "pas", "jamais", "non", "ni", "aucun", "aucune", "personne", "rien", "révoqu-", "retire",
        "plaisant-", "blague", "si", "il", "elle", "ils", "autorisez",
    ),
    "hi": ("नहीं", "न", "मत", "इनकार", "वापस", "अगर", "यदि", "वह"),
    "id": ("tidak", "tak", "bukan", "belum", "jangan", "menolak", "mencabut", "cabut", "bercanda", "jika", "kalau",
           "seandainya", "andai", "dia", "mereka"),
    "it": ("non", "mai", "né", "nessun", "nessuno", "niente", "nulla", "revoc-", "ritiro", "scherz-", "se", "lui",
           "lei", "acconsente"),
    "ja": ("ない", "ません", "拒否", "いいえ", "誰も", "撤回", "取り消", "冗談", "もし", "なら", "彼"),
    "ko": ("안", "않-", "못-", "없-", "아니-", "아닙-", "거부-", "아무도", "철회-", "취소-", "농담-", "만약-", "만일-",
           "그는", "그녀는", "그들은", "당신은"),
    "nl": ("niet", "geen", "nooit", "nee", "noch", "niemand", "niets", "herroep-", "grap-", "als", "indien", "hij",
           "zij"),
    "pl": ("nie", "nigdy", "żaden", "żadnej", "ani", "nikt", "nic", "odwołuję", "wycofuję", "żart-", "jeśli", "gdyby",
           "gdybym", "ona", "oni", "wyraża"),
    "pt": ("não", "nunca", "nem", "jamais", "nenhum", "ninguém", "nada", "revog-", "retiro", "brincadeira",
           "brincando", "se", "ele", "ela", "autoriza"),
    "ru": ("не", "нет", "никогда", "ни", "отказываюсь", "никто", "ничего", "отзываю", "шучу", "шутка", "если", "бы",
           "он", "она", "они", "является", "дает", "даёт"),
    "uk": ("не", "ні", "ніколи", "жодного", "відмовляюся", "ніхто", "нічого", "відкликаю", "жартую", "жарт", "якщо",
           "якби", "би", "він", "вона", "вони", "дає"),
    "vi": ("không", "khong", "chẳng", "chưa", "đừng"),  # khong: Whisper now and then drops every mark
    "zh": ("不", "没", "未", "拒绝", "否", "撤回", "撤销", "撤銷", "收回", "玩笑", "如果", "假如", "要是", "吗", "嗎",
           "他", "她"),
}
# fmt: on

DEFAULT_KEY_WORDS: dict[str, tuple[str, ...]] = {
    # The phrase's words that make it the speaker's own first-person consent: the speaker's "I" and
    # the first-person verbs. Each occurrence must be heard in its place, as the word or a near miss
    # of it (`m` for "am" in "I'm", `hoy` for `doy`), not replaced by another word (`he`, `nobody`,
    # `you`, `were`) nor missing. Written as `words()` makes them (ja, zh: characters; vi folded).
    # Only words that Whisper base heard (or nearly) in every genuine calibration recording it
    # accepted (README): those it mishears there are left out (en `consent` as `can send`, de `bin`
    # as `flind`, fr `autorise`, nl's second `ik`, ja 認 as 入, ko 나는 as 넌은, id's first `saya`, ...);
    # for those, another person's word in the phrase is refused by name in DEFAULT_NEGATIONS.
    "de": ("ich", "einverstanden"),
    "en": ("i", "am"),
    "es": ("soy", "doy", "mi"),
    "fr": ("je", "suis"),
    "hi": ("मैं", "हूं", "देता"),
    "id": ("memberikan",),
    "it": ("sono", "acconsento"),
    "ja": ("私",),
    "ko": (),
    "nl": ("ben",),
    "pl": ("jestem",),
    "pt": ("eu", "sou", "autorizo"),
    "ru": ("я", "являюсь"),
    "uk": ("я", "є", "даю"),
    "vi": ("tôi", "đồng"),
    "zh": ("我", "是"),
}

DEFAULT_PROMPTS: dict[str, str] = {
    # Whisper (base) writes Hindi speech in Urdu letters and Mandarin in traditional characters
    # now and then; a prompt written in the phrase's script sets the script, not the words (a
    # sentence about the language, nothing of the phrase). Measured in README "Calibration".
    "hi": "यह हिंदी का वाक्य है।",
    "zh": "以下是普通话的句子。",
}
