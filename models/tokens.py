"""Byte-level BPE helpers: the raw bytes behind a Whisper (GPT-2 style) token string."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _unicode_to_byte() -> dict[str, int]:
    # GPT-2 maps each byte to a printable character: printable bytes map to themselves,
    # the others to code points from 256 upwards, in byte order.
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            mapping[chr(256 + extra)] = b
            extra += 1
    return mapping


def token_bytes(token: str | None) -> tuple[int, ...]:
    """Bytes of a byte-level BPE token string (`Ġhello` -> b' hello')."""
    if not token:
        return ()
    table = _unicode_to_byte()
    if all(ch in table for ch in token):
        return tuple(table[ch] for ch in token)
    return tuple(token.encode("utf-8"))  # special tokens such as <|en|>
