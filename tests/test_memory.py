"""Memory handed back to the OS: freed images must not stay resident."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

MiB = 1 << 20

# Images of a server's life in miniature: grids of 2 MiB each, freed, with small objects
# allocated between them that stay alive (as a session's models and messages do).
SCENARIO = """
import numpy as np
from pipeline import anonymous_bytes, map_large_allocations
assert map_large_allocations()
first = np.ones(4 * 2**20 // 8)
del first  # glibc raises its mapping threshold past a freed block's size
before = anonymous_bytes()
grids, kept = [], []
for number in range(100):
    grids.append(np.full(2 * 2**20 // 8, float(number)))
    kept.append(bytearray(4096))
del grids
print(anonymous_bytes() - before)
"""


def retained_after_freeing_grids() -> int:
    """Bytes still resident once the scenario freed its grids, in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, check=True, timeout=60
    )
    return int(result.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the mapping threshold is glibc's")
def test_freed_grids_go_back_to_the_os_once_large_allocations_are_mapped() -> None:
    # With the setting, each grid's pages go back when it is freed. Without it, glibc usually
    # keeps the 200 MiB of freed grids resident, pinned by the small objects between them (196 MiB
    # in a plain run here; how much depends on where the kernel lets the heap grow).
    assert retained_after_freeing_grids() < 5 * MiB
