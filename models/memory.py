"""Memory accounting for loaded models: the process's resident set and model file sizes.

Two ways to know what a model costs: estimate it from its weight files before loading
(what the budget check uses the first time), and measure the growth of the process's
resident set while it loads (what is used once known). Neither is exact: other requests
allocate while a model loads, and GPU memory is not resident memory, which is why the
larger of the two is what counts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os
from collections.abc import Iterable
from pathlib import Path

MIB = 1024 * 1024


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process (Linux /proc), 0 where it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as handle:
            resident_pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def files_size(paths: Iterable[Path]) -> int:
    """Total size of the files that exist among `paths`."""
    total = 0
    for path in paths:
        try:
            total += Path(path).stat().st_size
        except OSError:
            continue
    return total


def mib(n_bytes: float) -> str:
    return f"{n_bytes / MIB:.0f} MiB"


def release_free_memory() -> None:
    """Collect garbage and hand freed heap back to the system (glibc keeps it otherwise).

    Without the trim, an unloaded model's pages stay in the process's resident set and the
    budget's promise would be kept on paper only.
    """
    gc.collect()
    trim_heap()


def trim_heap() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; nothing elsewhere).

    Cheap (well under a millisecond on the server's heap, measured), so it can follow every
    request whose work allocated a lot and freed it again.
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - not glibc: AttributeError
    except (OSError, AttributeError):
        return None
    return libc
