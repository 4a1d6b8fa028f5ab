"""The cache folder's bound: which entries are in use, when each was last used, and trimming.

Every process that maps an entry holds a shared lock on the entry's ``.in-use`` file for as long
as it runs (the kernel drops it when the process ends), and marks the entry used by touching its
manifest. Trimming removes the least recently used entries until the folder's entries fit in its
bound, skipping any that a running process maps: it could not take the lock exclusively.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MANIFEST", "FolderEntry", "entries_of", "hold_in_use", "trim"]

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"  # in each entry: its description, and its last use as its time
# descriptors of the lock files this process holds open, one per entry it maps (the lock lives
# while the descriptor is open, so until the process ends)
_HELD: dict[Path, int] = {}


def _in_use_file(entry: Path) -> Path:
    return entry.parent / f"{entry.name}.in-use"


def hold_in_use(entry: Path) -> None:
    """Mark ``entry`` mapped by this process (until it ends), and used now.

    In a folder this process cannot write (one shared read-only with a cluster's workers) the
    entry is mapped all the same; it is then this process's only to read, not to trim.
    """
    try:
        if entry not in _HELD:
            descriptor = os.open(_in_use_file(entry), os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            _HELD[entry] = descriptor
        (entry / MANIFEST).touch()
    except OSError as err:
        logger.debug("cannot mark cache entry %s in use: %s", entry, err)


@dataclass(frozen=True)
class FolderEntry:
    """An entry of the cache folder: its path, the bytes it takes, when it was last used."""

    path: Path
    bytes: int
    last_used: float  # the manifest's modification time


def entries_of(root: Path) -> list[FolderEntry]:
    """The complete entries under ``root``, least recently used first."""
    found = []
    for manifest in root.glob(f"*/{MANIFEST}"):
        try:
            size = sum(file.stat().st_size for file in manifest.parent.iterdir())
            found.append(FolderEntry(manifest.parent, size, manifest.stat().st_mtime))
        except OSError:  # removed meanwhile by another process
            continue
    return sorted(found, key=lambda entry: entry.last_used)


def _remove_unless_in_use(entry: Path) -> bool:
    """Remove ``entry`` if no running process maps it; whether it was removed."""
    with open(_in_use_file(entry), "a+b") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(entry, ignore_errors=True)
        fcntl.flock(lock, fcntl.LOCK_UN)
    _in_use_file(entry).unlink(missing_ok=True)
    return True


def trim(root: Path, max_bytes: int) -> list[Path]:
    """Remove least recently used entries until those under ``root`` take at most ``max_bytes``;
    never one that a running process maps. Returns the entries removed."""
    entries = entries_of(root)
    total = sum(entry.bytes for entry in entries)
    removed = []
    for entry in entries:
        if total <= max_bytes:
            break
        if _remove_unless_in_use(entry.path):
            total -= entry.bytes
            removed.append(entry.path)
            logger.info(
                "removed cache entry %s (%.1f GiB), the least recently used", entry.path, entry.bytes / 2**30
            )
    if total > max_bytes:
        logger.warning(
            "cache folder %s holds %.1f GiB of entries in use, over its bound of %.1f GiB",
            root,
            total / 2**30,
            max_bytes / 2**30,
        )
    return removed
