"""Give memory back to the system after a task.

Decoding an hour of audio and running a model over it frees its buffers when
done, but glibc's allocator keeps the freed pages in its arenas, so the
process's resident size stays at its peak for good (measured: 506 MB before a
10-minute job, 835 MB after it, for ever). ``malloc_trim`` returns the free
pages at the top of each arena and unmaps free chunks inside them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)


def _find_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    return trim


_TRIM = _find_trim()
# A task that left the process this much larger gets its memory handed back
# (small tasks skip the collection: it costs milliseconds on a large heap).
GROWTH_BYTES = 64 * 1024 * 1024


def resident_bytes() -> int:
    """This process's resident set size (Linux; 0 where /proc is absent)."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * _PAGE


def _page_size() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4096


_PAGE = _page_size()


def release_if_grown(before: int) -> bool:
    """``release_memory`` when the process grew by ``GROWTH_BYTES`` since
    ``before`` (a ``resident_bytes`` reading); True if it ran."""
    if not before or resident_bytes() - before < GROWTH_BYTES:
        return False
    release_memory()
    return True


def release_memory() -> None:
    """Collect garbage, then hand free heap pages back (glibc only)."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
