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
    # (`not`, `nobody`), retractions (`revoke`, `take it back`, `just kidding`) and conditionals
    # (`if I were ...`). Whole words; `x-` is any word beginning with `x` (Korean's 않습니다,
    # `revoked`). For the languages compared by characters (ja, zh) they are character sequences
    # found anywhere in the transcript. `t` is what is left of "don't" once apostrophes split words.
    # Vietnamese has only its negations: once tones are folded its conditional and retraction words
    # (nếu, rút, đùa) are ordinary syllables (nêu, đua) that Whisper makes of its misheard speech.
    "en": (
        "not", "no", "never", "nor", "neither", "cannot", "t", "refuse", "withdr-", "nobody", "none", "nothing",
        "revok-", "retract-", "rescind-", "cancel-", "back", "kidding", "joking", "joke", "if", "unless", "would",
        "pretend",
    ),
    "de": (
        "nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nein", "weder", "niemand",
        "niemanden", "nichts", "widerruf-", "zurück", "scherz-", "spaß", "wenn", "falls", "würde", "wäre",
    ),
    "es": (
        "no", "nunca", "jamás", "ni", "tampoco", "nadie", "nada", "ninguno", "ninguna", "revoc-", "retiro", "broma",
        "si",
    ),
    "fr": (
        "ne", "n", "pas", "jamais", "non", "ni", "aucun", "aucune", "personne", "rien", "révoqu-", "retire",
        "plaisant-", "blague", "si",
    ),
    "hi": ("नहीं", "न", "मत", "इनकार", "वापस", "अगर", "यदि"),
    "id": ("tidak", "tak", "bukan", "belum", "jangan", "menolak", "mencabut", "cabut", "bercanda", "jika", "kalau",
           "seandainya", "andai"),
    "it": ("non", "mai", "né", "nessun", "nessuno", "niente", "nulla", "revoc-", "ritiro", "scherz-", "se"),
    "ja": ("ない", "ません", "拒否", "いいえ", "誰も", "撤回", "取り消", "冗談", "もし", "なら"),
    "ko": ("안", "않-", "못-", "없-", "아니-", "아닙-", "거부-", "아무도", "철회-", "취소-", "농담-", "만약-", "만일-"),
    "nl": ("niet", "geen", "nooit", "nee", "noch", "niemand", "niets", "herroep-", "grap-", "als", "indien"),
    "pl": ("nie", "nigdy", "żaden", "żadnej", "ani", "nikt", "nic", "odwołuję", "wycofuję", "żart-", "jeśli", "gdyby",
           "gdybym"),
    "pt": ("não", "nunca", "nem", "jamais", "nenhum", "ninguém", "nada", "revog-", "retiro", "brincadeira",
           "brincando", "se"),
    "ru": ("не", "нет", "никогда", "ни", "отказываюсь", "никто", "ничего", "отзываю", "шучу", "шутка", "если", "бы"),
    "uk": ("не", "ні", "ніколи", "жодного", "відмовляюся", "ніхто", "нічого", "відкликаю", "жартую", "жарт", "якщо",
           "якби", "би"),
    "vi": ("không", "khong", "chẳng", "chưa", "đừng"),  # khong: Whisper now and then drops every mark
    "zh": ("不", "没", "未", "拒绝", "否", "撤回", "撤销", "撤銷", "收回", "玩笑", "如果", "假如", "要是", "吗", "嗎"),
}
# fmt: on

DEFAULT_KEY_WORDS: dict[str, tuple[str, ...]] = {
    # The phrase's words that make it the speaker's own first-person consent: the speaker's "I",
    # the first-person verbs ("am", "consent") and, where the language has one, the possessive
    # ("mi consentimiento"). Each occurrence must be heard in its place: the word, a spelling listed
    # after `|` (`am|m`: Whisper's "I'm"), or a near miss keeping its first and last letter; not
    # another word (`he`, `nobody`, `you`, `were`, 그는, acconsente) nor missing. Written as `words()`
    # makes them (ja, zh: characters; vi folded). Chosen among the words Whisper base heard in the
    # genuine calibration recordings (README): those it mishears there are not required (ja 承 and
    # zh 授权 as 証, 受全; ko 허용합니다 as 사용합니다; ru даю inside `идаюся`; vi là as `lạch`, ý as `I`).
    "de": ("ich", "bin", "einverstanden"),
    "en": ("i", "am|m", "consent"),
    "es": ("soy", "doy|voy", "mi"),
    "fr": ("je", "suis", "j|je", "autorise"),
    "hi": ("मैं", "हूं", "देता"),
    "id": ("saya", "memberikan"),
    "it": ("sono", "acconsento"),
    "ja": ("私", "認"),
    "ko": ("나는",),
    "nl": ("ik", "ben", "geef"),
    "pl": ("jestem", "wyrażam"),
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
