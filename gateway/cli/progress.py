"""Progress bars on stderr: one for the whole run and one for the file in hand (tqdm)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_TICK_S = 0.5


class Progress:
    """An overall bar counting audio seconds (or files, when a duration is unknown) and a
    per-file bar. The per-file bar is redrawn every half second while the server works, so
    its elapsed time keeps moving even though the answer arrives in one piece."""

    def __init__(self, enabled: bool, total: float, unit: str):
        self.enabled = enabled
        self._overall: Any = None
        if enabled:
            from tqdm import tqdm

            self._tqdm = tqdm
            self._overall = tqdm(
                total=round(total, 1), unit=unit, desc="all files", position=0, file=sys.stderr, dynamic_ncols=True,
                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} {unit} [{elapsed}<{remaining}]",
            )

    @contextmanager
    def file(self, name: str, seconds: float | None) -> Iterator[FileBar]:
        bar = FileBar(self, name, seconds)
        try:
            yield bar
        finally:
            bar.close()

    def advance(self, amount: float) -> None:
        if self._overall is not None:
            self._overall.update(round(amount, 1))

    def write(self, line: str) -> None:
        """A line on stderr that does not tear the bars."""
        if self._overall is not None:
            self._overall.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self._overall is not None:
            self._overall.close()


class FileBar:
    def __init__(self, progress: Progress, name: str, seconds: float | None):
        self._bar: Any = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        if not progress.enabled:
            return
        total = round(seconds, 1) if seconds else None
        self._bar = progress._tqdm(
            total=total, unit="s", desc=name, position=1, leave=False, file=sys.stderr, dynamic_ncols=True,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s audio [{elapsed}{postfix}]"
            if total
            else "{desc}: [{elapsed}{postfix}]",
        )
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        while not self._stop.wait(_TICK_S):
            self._bar.refresh()

    def stage(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def finish(self) -> None:
        if self._bar is not None and self._bar.total:
            self._bar.update(self._bar.total - self._bar.n)
            self.stage("done")

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._bar is not None:
            self._bar.close()
