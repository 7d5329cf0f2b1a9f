"""Give the memory of a large request back to the operating system once it is done.

glibc keeps freed memory in the arena of the thread that used it; with several request threads, each
one that parsed a large request would keep its high-water mark. ``malloc_trim`` returns what is free.
Elsewhere (another C library) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_free_memory() -> None:
    """Return the C library's free memory to the operating system, where it can."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
