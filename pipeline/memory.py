"""Process memory figures (resident and proportional set size) and handing freed memory back."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

import psutil

__all__ = ["anonymous_bytes", "pss_bytes", "release_freed_memory", "rss_bytes"]


def rss_bytes(pid: int | None = None) -> int:
    """Resident set size of a process (this one by default)."""
    return int(psutil.Process(pid or os.getpid()).memory_info().rss)


def anonymous_bytes(pid: int | None = None) -> int:
    """Resident memory of a process that is its own (heap, stacks), not mapped from files.

    Rows mapped from the columnar cache count in the resident set size once touched and stay
    there while the OS keeps them cached; this figure leaves them out, so it shows what
    sessions and images cost.
    """
    with open(f"/proc/{pid or os.getpid()}/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no RssAnon line in /proc/{pid or os.getpid()}/status")


def pss_bytes(pid: int | None = None) -> int:
    """Proportional set size: shared pages count once across the processes sharing them."""
    with open(f"/proc/{pid or os.getpid()}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no Pss line in /proc/{pid or os.getpid()}/smaps_rollup")


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def release_freed_memory() -> None:
    """Ask glibc to return freed heap pages to the OS (a no-op elsewhere).

    Grids freed when a session closes sit in malloc's arenas until trimmed, so the
    resident size would not fall back after viewers leave.
    """
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
