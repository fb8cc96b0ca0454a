"""espeak-ng in a child process: a text that crashes it costs one request, not the server.

Piper phonemises with espeak-ng, native code in the server's process. Some texts corrupt its
memory and kill the whole process (piper-tts 1.8 / espeak-ng: long runs of spelled letters in
one clause such as `"a." * 128`, `"a.." * 300`, `"a.b. " * 300`, sometimes and not always: the
crash is memory corruption, so no filter of ours could be sure to catch every such text).
So espeak-ng runs in a child process of its own (one, started by `forkserver`, so nothing of
the server's threads is copied into it); a text it dies on is refused with a 400 naming
`input`, and the next text gets a fresh child. One call costs a round trip between processes
(well under a millisecond next to the synthesis).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from models.text import UnspeakableText

log = logging.getLogger(__name__)

_CHILD_PHONEMIZER: Any = None  # the EspeakPhonemizer of a child process (set by _start)


def _start(data_dir: str) -> None:
    global _CHILD_PHONEMIZER
    from piper.phonemize_espeak import EspeakPhonemizer

    _CHILD_PHONEMIZER = EspeakPhonemizer(data_dir)


def _phonemize(voice: str, text: str, vowel_clusters: Any) -> list[list[str]]:
    return _CHILD_PHONEMIZER.phonemize(voice, text, vowel_clusters=vowel_clusters)  # type: ignore[no-any-return]


class IsolatedPhonemizer:
    """Phonemises text for Piper voices with espeak-ng in a child process (see the module)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.crashes = 0  # texts espeak-ng died on

    def phonemize(self, voice: Any, text: str) -> list[list[str]]:
        """Phonemes grouped by sentence, as `PiperVoice.phonemize` returns them.

        `voice` is a loaded `piper.PiperVoice`. Voices that do not phonemise with espeak-ng
        alone (raw text, pinyin, Arabic with diacritisation) are left to Piper in this process.
        Raises UnspeakableText (400, param `input`) when espeak-ng crashes on the text.
        """
        from piper.config import PhonemeType

        config = voice.config
        if config.phoneme_type != PhonemeType.ESPEAK or config.espeak_voice == "ar":
            return voice.phonemize(text)  # type: ignore[no-any-return]
        pool = self._ready(str(voice.espeak_data_dir))
        try:
            return pool.submit(_phonemize, config.espeak_voice, text, config.vowel_clusters).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
                self.crashes += 1
            log.warning("espeak-ng crashed on a text of %d characters; a new phonemizer process is started", len(text))
            raise UnspeakableText(
                "`input` could not be phonemised: espeak-ng (Piper's phonemizer) fails on this text. "
                "Long runs of spelled letters (`a.b.c.` without spaces) are the known case; add spaces after the dots.",
                param="input",
                code="invalid_value",
            ) from None

    def warm_up(self, voice: Any) -> None:
        """Start the child process now rather than on the first request."""
        self.phonemize(voice, "Ready.")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _ready(self, data_dir: str) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(1, mp_context=context, initializer=_start, initargs=(data_dir,))
            return self._pool
