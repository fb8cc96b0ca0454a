"""Whisper's language codes and the English names OpenAI returns in `verbose_json`.

Callers name languages by ISO-639-1 code; the deprecated codes (`iw` Hebrew, `in` Indonesian, `ji`
Yiddish) and Whisper's own `jw` for Javanese (ISO `jv`) are read as today's code, which the answers
report. Whisper spells one code its own way (`jw`): `whisper_code` is what reaches the model.
"""

from __future__ import annotations

_NAMES = (
    "en english,zh chinese,de german,es spanish,ru russian,ko korean,fr french,ja japanese,pt portuguese,"
    "tr turkish,pl polish,ca catalan,nl dutch,ar arabic,sv swedish,it italian,id indonesian,hi hindi,"
    "fi finnish,vi vietnamese,he hebrew,uk ukrainian,el greek,ms malay,cs czech,ro romanian,da danish,"
    "hu hungarian,ta tamil,no norwegian,th thai,ur urdu,hr croatian,bg bulgarian,lt lithuanian,la latin,"
    "mi maori,ml malayalam,cy welsh,sk slovak,te telugu,fa persian,lv latvian,bn bengali,sr serbian,"
    "az azerbaijani,sl slovenian,kn kannada,et estonian,mk macedonian,br breton,eu basque,is icelandic,"
    "hy armenian,ne nepali,mn mongolian,bs bosnian,kk kazakh,sq albanian,sw swahili,gl galician,"
    "mr marathi,pa punjabi,si sinhala,km khmer,sn shona,yo yoruba,so somali,af afrikaans,oc occitan,"
    "ka georgian,be belarusian,tg tajik,sd sindhi,gu gujarati,am amharic,yi yiddish,lo lao,uz uzbek,"
    "fo faroese,ht haitian creole,ps pashto,tk turkmen,nn nynorsk,mt maltese,sa sanskrit,lb luxembourgish,"
    "my myanmar,bo tibetan,tl tagalog,mg malagasy,as assamese,tt tatar,haw hawaiian,ln lingala,ha hausa,"
    "ba bashkir,jw javanese,su sundanese,yue cantonese"
)

LANGUAGE_NAMES: dict[str, str] = dict(item.split(" ", 1) for item in _NAMES.split(","))


def language_name(code: str) -> str:
    """`en` -> `english`; an unknown code comes back as it is."""
    return LANGUAGE_NAMES.get(code, code)


DEPRECATED_CODES = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv"}
"""Withdrawn ISO-639-1 codes (and Whisper's nonstandard `jw`) -> the standard code."""
_WHISPER_CODES = {"jv": "jw"}
"""Standard codes Whisper spells otherwise."""
_STANDARD_CODES = {whisper: code for code, whisper in _WHISPER_CODES.items()}


def whisper_code(code: str) -> str:
    """A standard code as Whisper names it (`jv` -> `jw`)."""
    return _WHISPER_CODES.get(code, code)


def standard_code(code: str) -> str:
    """A Whisper code as the answers report it (`jw` -> `jv`)."""
    return _STANDARD_CODES.get(code, code)


def normalize_language(value: str) -> str | None:
    """The standard ISO-639-1 code of a code, a deprecated code (`iw`), a BCP 47 tag (`en-US`) or an English
    name; None if Whisper has no such language."""
    value = value.strip().lower()
    primary = value.replace("_", "-").split("-", 1)[0]
    for candidate in (value, primary):
        code = DEPRECATED_CODES.get(candidate, candidate)
        if whisper_code(code) in LANGUAGE_NAMES:
            return code
    for code, name in LANGUAGE_NAMES.items():
        if name == value:
            return standard_code(code)
    return None
