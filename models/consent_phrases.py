"""OpenAI's approved consent phrases and the negations that turn one into a refusal.

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

DEFAULT_NEGATIONS: dict[str, tuple[str, ...]] = {
    # Whole words; `x-` is any word beginning with `x` (Korean's 않습니다, 아닙니다). For the
    # languages compared by characters (ja, zh) they are character sequences found anywhere in
    # the transcript. `t` is what is left of "don't" once apostrophes split words.
    "en": ("not", "no", "never", "nor", "neither", "cannot", "t", "refuse", "withdraw"),
    "de": ("nicht", "kein", "keine", "keinen", "keinem", "keiner", "nie", "niemals", "nein", "weder"),
    "es": ("no", "nunca", "jamás", "ni", "tampoco"),
    "fr": ("ne", "n", "pas", "jamais", "non", "ni", "aucun", "aucune"),
    "hi": ("नहीं", "न", "मत", "इनकार"),
    "id": ("tidak", "tak", "bukan", "belum", "jangan", "menolak"),
    "it": ("non", "mai", "né", "nessun", "nessuno"),
    "ja": ("ない", "ません", "拒否", "いいえ"),
    "ko": ("안", "않-", "못-", "없-", "아니-", "아닙-", "거부-"),
    "nl": ("niet", "geen", "nooit", "nee", "noch"),
    "pl": ("nie", "nigdy", "żaden", "żadnej", "ani"),
    "pt": ("não", "nunca", "nem", "jamais", "nenhum"),
    "ru": ("не", "нет", "никогда", "ни", "отказываюсь"),
    "uk": ("не", "ні", "ніколи", "жодного", "відмовляюся"),
    "vi": ("không", "khong", "chẳng", "chưa", "đừng"),  # khong: Whisper now and then drops every mark
    "zh": ("不", "没", "未", "拒绝", "否"),
}

DEFAULT_PROMPTS: dict[str, str] = {
    # Whisper (base) writes Hindi speech in Urdu letters and Mandarin in traditional characters
    # now and then; a prompt written in the phrase's script sets the script, not the words (a
    # sentence about the language, nothing of the phrase). Measured in README "Calibration".
    "hi": "यह हिंदी का वाक्य है।",
    "zh": "以下是普通话的句子。",
}
