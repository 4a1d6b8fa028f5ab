"""A columnar, memory-mappable copy of a prepared table on disk, so later loads map it instead of parsing.

The first load of a source writes each needed column (in the index's sorted order) as a
``.npy`` file, the index's cell table beside them, and a ``manifest.json`` that describes
them. Later loads, by this process after a restart or by other server processes, map the
files read-only: the OS page cache then holds one copy of the rows for every process.

An entry is keyed by the source's identity (a file's resolved path, size and modification
time, or the synthetic data's rows and seed), the columns read, whether rows are indexed,
and this module's format version; a changed source has a new key and is read again.

Crash safety: an entry is written under a temporary name and renamed into place only when
complete, so a half-written entry is never found under its key. Before an entry is served,
each file's size and a checksum of sampled blocks are compared with the manifest; an entry
that fails is removed and rebuilt. A file lock per key makes concurrent first loads by
several processes build the entry once: the others wait, then map it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from .cache_folder import MANIFEST, hold_in_use, trim
from .errors import CacheCorrupt
from .index import CELLS, GRID_BITS, SpatialIndex
from .sources import DataSource
from .table import PreparedTable
from .viewport import Viewport

__all__ = ["FORMAT_VERSION", "CacheEntry", "ColumnarCopies", "default_cache_dir"]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
CELL_STARTS = "cell_starts.npy"
SAMPLE_BLOCKS = 64  # blocks per file whose checksum is kept in the manifest
SAMPLE_BLOCK_BYTES = 4096


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/shared-frame-explorer``, or ``~/.cache/shared-frame-explorer``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shared-frame-explorer"


def _sampled_checksum(path: Path) -> int:
    """CRC-32 of ``SAMPLE_BLOCKS`` blocks spread evenly over the file, first and last included."""
    size = path.stat().st_size
    checksum = 0
    with open(path, "rb") as file:
        last = max(size - SAMPLE_BLOCK_BYTES, 0)
        for offset in sorted({last * i // (SAMPLE_BLOCKS - 1) for i in range(SAMPLE_BLOCKS)}):
            checksum = zlib.crc32(os.pread(file.fileno(), SAMPLE_BLOCK_BYTES, offset), checksum)
    return checksum


def _write_array(path: Path, array: npt.NDArray[np.generic]) -> dict[str, object]:
    with open(path, "wb") as file:
        np.save(file, np.ascontiguousarray(array), allow_pickle=False)
        file.flush()
        os.fsync(file.fileno())
    return {"file": path.name, "bytes": path.stat().st_size, "checksum": _sampled_checksum(path)}


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class CacheEntry:
    """Where one source's columnar copy lives."""

    key: str
    path: Path

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST


class ColumnarCopies:
    """Columnar copies of prepared tables under one folder (see the module docstring)."""

    def __init__(self, root: Path, max_bytes: int | None = None) -> None:
        self.root = root
        self.max_bytes = max_bytes  # the folder's bound (None: unbounded)

    def entry(self, source: DataSource, *, indexed: bool) -> CacheEntry:
        """The entry that holds ``source`` read with these options."""
        shape = {
            "format": FORMAT_VERSION,
            "source": source.identity(),
            "x": source.x,
            "y": source.y,
            "indexed": indexed,
            "grid_bits": GRID_BITS,
        }
        key = hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:32]
        return CacheEntry(key, self.root / key)

    def open(
        self,
        source: DataSource,
        *,
        indexed: bool,
        build: Callable[[], PreparedTable],
        waiting: Callable[[], None] = lambda: None,
    ) -> tuple[PreparedTable, bool]:
        """The table from the cache (mapped read-only), building and storing it on a miss.

        Returns the table and whether it came from the cache. ``waiting`` is called when
        another process holds the entry's lock (it is building the entry). A cache that
        cannot be written (disk full, no permission) is logged, and the built table is
        returned as it is.
        """
        entry = self.entry(source, indexed=indexed)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            logger.warning("cache folder %s cannot be created (%s); reading without it", self.root, err)
            return build(), False
        with self._locked(entry, waiting):
            if entry.path.exists():
                try:
                    table = self.read(entry)
                except CacheCorrupt as err:
                    logger.warning("rebuilding cache entry %s: %s", entry.path, err)
                    self._remove(entry.path)
                else:
                    logger.info("mapped %s rows from cache %s", f"{table.rows:,}", entry.path)
                    return table, True
            table = build()
            try:
                self.write(entry, table, source)
            except OSError as err:
                logger.warning(
                    "cache entry %s could not be written (%s); serving without it", entry.path, err
                )
                return table, False
            del table  # the in-memory copy goes; every process maps the same files instead
            self._remove_stale(entry, source)
            mapped = self.read(entry)
            if self.max_bytes is not None:
                trim(self.root, self.max_bytes)
            return mapped, False

    @contextlib.contextmanager
    def _locked(self, entry: CacheEntry, waiting: Callable[[], None]) -> Iterator[None]:
        with open(self.root / f"{entry.key}.lock", "a+b") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("waiting for another process to build cache entry %s", entry.path)
                waiting()
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def write(self, entry: CacheEntry, table: PreparedTable, source: DataSource) -> None:
        """Write ``table`` as ``entry``: into a temporary folder, then renamed into place."""
        partial = self.root / f".{entry.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial"
        partial.mkdir()
        try:
            columns = []
            for number, name in enumerate(table.frame.columns):
                column = table.frame[name]
                description: dict[str, object] = {"name": name}
                if isinstance(column.dtype, pd.CategoricalDtype):
                    values = column.array.codes
                    description["categories"] = column.dtype.categories.tolist()
                    description["ordered"] = bool(column.dtype.ordered)
                else:
                    values = column.to_numpy()
                description.update(_write_array(partial / f"column_{number}.npy", values))
                columns.append(description)
            index = table.index
            manifest = {
                "format": FORMAT_VERSION,
                "key": entry.key,
                "source": source.identity(),
                "description": source.describe(),
                "rows": table.rows,
                "x": table.x,
                "y": table.y,
                "extent": [table.extent.x0, table.extent.x1, table.extent.y0, table.extent.y1],
                "columns": columns,
                "index": None
                if index is None
                else {
                    "x_origin": index.x_origin,
                    "x_scale": index.x_scale,
                    "y_origin": index.y_origin,
                    "y_scale": index.y_scale,
                    **_write_array(partial / CELL_STARTS, index.cell_starts),
                },
            }
            with open(partial / MANIFEST, "w") as file:
                json.dump(manifest, file, indent=1)
                file.flush()
                os.fsync(file.fileno())
            os.rename(partial, entry.path)
            _fsync_directory(self.root)
        except BaseException:
            self._remove(partial)
            raise
        logger.info("wrote cache entry %s (%s rows)", entry.path, f"{table.rows:,}")

    def read(self, entry: CacheEntry) -> PreparedTable:
        """Map ``entry``'s files read-only; raises :class:`CacheCorrupt` if any check fails."""
        try:
            manifest = json.loads(entry.manifest_path.read_text())
        except (OSError, ValueError) as err:
            raise CacheCorrupt(f"manifest {entry.manifest_path} is unreadable: {err}") from err
        try:
            if manifest["format"] != FORMAT_VERSION or manifest["key"] != entry.key:
                raise CacheCorrupt(f"manifest {entry.manifest_path} is for another format or key")
            rows = int(manifest["rows"])
            columns: dict[str, object] = {}
            for description in manifest["columns"]:
                values = self._map(entry, description, rows)
                if "categories" in description:
                    dtype = pd.CategoricalDtype(description["categories"], ordered=description["ordered"])
                    columns[description["name"]] = pd.Categorical.from_codes(
                        values, dtype=dtype, validate=False
                    )
                else:
                    columns[description["name"]] = values
            extent = Viewport(*manifest["extent"])
            index = None
            if manifest["index"] is not None:
                described = manifest["index"]
                cell_starts = self._map(entry, described, CELLS + 1)
                if cell_starts.dtype != np.int64:
                    raise CacheCorrupt(f"cell table of {entry.path} has dtype {cell_starts.dtype}")
                index = SpatialIndex(
                    float(described["x_origin"]),
                    float(described["x_scale"]),
                    float(described["y_origin"]),
                    float(described["y_scale"]),
                    cast("npt.NDArray[np.int64]", cell_starts),
                    extent,
                )
            frame = pd.DataFrame(columns, copy=False)
            hold_in_use(entry.path)  # until this process ends: no other process trims it away
            return PreparedTable(frame, manifest["x"], manifest["y"], index, extent)
        except (KeyError, TypeError) as err:
            raise CacheCorrupt(f"manifest {entry.manifest_path} is incomplete: {err!r}") from err

    @staticmethod
    def _map(entry: CacheEntry, description: dict[str, object], rows: int) -> npt.NDArray[np.generic]:
        path = entry.path / str(description["file"])
        try:
            size = path.stat().st_size
        except OSError as err:
            raise CacheCorrupt(f"{path} is missing: {err}") from err
        if size != description["bytes"]:
            raise CacheCorrupt(f"{path} holds {size:,} bytes; its manifest says {description['bytes']:,}")
        if _sampled_checksum(path) != description["checksum"]:
            raise CacheCorrupt(f"{path} does not match its checksum")
        try:
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise CacheCorrupt(f"{path} is not a readable array: {err}") from err
        values: npt.NDArray[np.generic] = mapped.view(np.ndarray)  # a plain array over the mapping
        if values.shape != (rows,):
            raise CacheCorrupt(f"{path} holds shape {values.shape}; expected ({rows},)")
        return values

    def _remove_stale(self, entry: CacheEntry, source: DataSource) -> None:
        """Remove entries of earlier versions of the same file (same path, other size or time);
        entries of the same version with other columns stay."""
        identity = source.identity()
        if "path" not in identity:
            return
        version = {key: identity.get(key) for key in ("path", "bytes", "modified_ns")}
        for manifest_path in self.root.glob(f"*/{MANIFEST}"):
            if manifest_path.parent == entry.path:
                continue
            try:
                other = json.loads(manifest_path.read_text())["source"]
            except (OSError, ValueError, KeyError):
                continue
            if (
                isinstance(other, dict)
                and other.get("path") == identity["path"]
                and {key: other.get(key) for key in version} != version
            ):
                logger.info(
                    "removing cache entry %s of an earlier version of %s",
                    manifest_path.parent,
                    identity["path"],
                )
                self._remove(manifest_path.parent)

    @staticmethod
    def _remove(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
