"""`keywords[]`: words or phrases to spell right, given to Whisper as faster-whisper's `hotwords`.

faster-whisper puts the hotwords before the previous text in the prompt of *every* 30 s
window (`<|startofprev|> hotwords previous-text <|startoftranscript|> ...`), so they bias
the whole recording, chunk by chunk, unlike `prompt`, which only starts it. Whisper's prompt
half holds 223 tokens; faster-whisper silently cuts hotwords beyond that, so longer lists are
refused here rather than half-used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models.errors import InvalidRequest

MAX_KEYWORDS = 50
"""At most this many entries in `keywords[]`."""
MAX_KEYWORD_CHARS = 100
"""At most this many characters per keyword."""
MAX_KEYWORD_TOKENS = 223
"""All keywords together, as Whisper tokens (joined by `, `), fit Whisper's prompt half (448 // 2 - 1)."""
SEPARATOR = ", "


def hotwords(keywords: Sequence[str]) -> str | None:
    """The keywords as faster-whisper's `hotwords` phrase, or None for none."""
    return SEPARATOR.join(keywords) if keywords else None


def check_keyword_list(keywords: Sequence[str]) -> tuple[str, ...]:
    """Trimmed keywords, or InvalidRequest naming `keywords` (count, empty, length, control characters)."""
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidRequest(
            f"At most {MAX_KEYWORDS} `keywords[]` are supported ({len(keywords)} given).",
            param="keywords",
            code="invalid_value",
        )
    cleaned = []
    for index, keyword in enumerate(keywords):
        word = " ".join(keyword.split())
        if not word:
            raise InvalidRequest(f"`keywords[{index}]` is empty.", param="keywords", code="invalid_value")
        if len(word) > MAX_KEYWORD_CHARS:
            raise InvalidRequest(
                f"`keywords[{index}]` has {len(word)} characters; at most {MAX_KEYWORD_CHARS} are supported.",
                param="keywords",
                code="invalid_value",
            )
        if any(not ch.isprintable() for ch in word):
            raise InvalidRequest(
                f"`keywords[{index}]` contains a control character.", param="keywords", code="invalid_value"
            )
        cleaned.append(word)
    return tuple(dict.fromkeys(cleaned))


def check_keywords(keywords: Sequence[str], tokenizer: Any) -> None:
    """Refuse keywords that do not fit Whisper's prompt as one list of tokens (a Hugging Face tokenizer)."""
    text = hotwords(keywords)
    if text is None:
        return
    count = len(tokenizer.encode(" " + text, add_special_tokens=False).ids)
    if count > MAX_KEYWORD_TOKENS:
        raise InvalidRequest(
            f"`keywords[]` take {count} Whisper tokens together; at most {MAX_KEYWORD_TOKENS} fit the prompt. "
            "Send fewer or shorter keywords.",
            param="keywords",
            code="invalid_value",
        )
