"""Process facts from the OS: memory figures, handing freed memory back, following a parent's exit."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal

import psutil

__all__ = [
    "LARGE_ALLOCATION",
    "anonymous_bytes",
    "map_large_allocations",
    "pss_bytes",
    "release_freed_memory",
    "rss_bytes",
    "stop_with_parent_process",
]

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
M_MMAP_THRESHOLD = -3  # from <malloc.h>
LARGE_ALLOCATION = 256 * 1024  # bytes: grids, packed grids and messages are all larger


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


def map_large_allocations(threshold: int = LARGE_ALLOCATION) -> bool:
    """Have glibc map every allocation of ``threshold`` bytes or more on its own pages, returned
    to the OS as soon as it is freed; returns whether the setting was made (False elsewhere).

    By default glibc raises this threshold each time it frees a mapped block, up to 32 MiB:
    after the first image is freed, later grids come from the heap, where the small objects
    allocated between them pin the pages, so the resident size creeps up with every image and
    stays up after viewers leave. A fixed threshold keeps the size of images out of the heap.
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold))


def stop_with_parent_process() -> bool:
    """In a process forked by ``bokeh serve --num-procs``, ask for SIGTERM when the parent exits.

    Bokeh's parent process does not pass SIGTERM on to the processes it forked, so stopping
    the parent would leave them serving (and holding their memory) with no parent. A forked
    process runs the same command line as its parent; only then is the request made. Returns
    whether it was (always False outside Linux).
    """
    libc = _libc()
    if libc is None or not hasattr(libc, "prctl"):
        return False
    me = psutil.Process()
    parent = me.parent()
    try:
        if parent is None or parent.cmdline() != me.cmdline():
            return False
    except psutil.Error:
        return False
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        return False
    # The parent may have exited between the check and the request.
    if os.getppid() != parent.pid:
        os.kill(os.getpid(), signal.SIGTERM)
    return True
