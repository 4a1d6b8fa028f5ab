"""Aggregating with Datashader's Dask path: in this process's threads, or on a Dask cluster's workers.

The frame is cut into partitions of consecutive rows. Rows are sorted along the index's
Hilbert curve, so each partition covers a compact patch of the plane; the finite bounding
box of every partition is kept here, and an image reads only the partitions whose box meets
the view (Datashader does not skip Dask partitions by range on its own). Datashader's Dask
path then aggregates them and only the grid comes back.

In-process, partitions are zero-copy slices of the process's (memory-mapped) frame. On a
cluster, each worker maps its partitions from the columnar cache itself, so the rows never
travel through the scheduler; the persisted frame is published on the cluster under a name
derived from the cache key, and every server process, on any machine, reuses it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dask.dataframe as dd
import numpy as np
import numpy.typing as npt
import pandas as pd
import xarray as xr

from .aggregate import Backend, GridQuery
from .columnar_copy import CacheEntry, ColumnarCopies
from .errors import ClusterError
from .index import finite_bounds
from .table import PreparedTable
from .viewport import Viewport

__all__ = [
    "PARTITIONS_PER_THREAD",
    "CachedSlices",
    "DaskBackend",
    "FrameSlices",
    "PartitionBounds",
    "partition_rows",
    "partitions_for",
]

if TYPE_CHECKING:
    from distributed import Client

logger = logging.getLogger(__name__)

# Partitions per thread that aggregates them: a zoomed view then reads a fraction of them,
# while each full-size grid a partition returns (800 x 600 x 4 bytes) still has many rows
# behind it. Measured at 70M rows on 2 cores, 8 partitions beat 16 and 64 for the full view
# (298 / 392 / 543 ms in-process) and were within 25 ms of them for mid and deep views.
PARTITIONS_PER_THREAD = 4
MIN_PARTITIONS = 8
MIN_PARTITION_ROWS = 1 << 16


def partitions_for(threads: int) -> int:
    """How many partitions to cut the rows into for ``threads`` aggregating threads."""
    return max(PARTITIONS_PER_THREAD * threads, MIN_PARTITIONS)


def partition_rows(rows: int, partitions: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of at most ``partitions`` consecutive partitions covering ``rows``."""
    per_partition = max(-(-rows // partitions), MIN_PARTITION_ROWS)
    return [(start, min(start + per_partition, rows)) for start in range(0, max(rows, 1), per_partition)]


@dataclass(frozen=True, eq=False)
class PartitionBounds:
    """The closed bounding box of each partition's finite points (``inf`` bounds when it has none)."""

    x0: npt.NDArray[np.float64]
    x1: npt.NDArray[np.float64]
    y0: npt.NDArray[np.float64]
    y1: npt.NDArray[np.float64]
    rows: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], ranges: list[tuple[int, int]]
    ) -> PartitionBounds:
        boxes = np.array([finite_bounds(x[start:stop], y[start:stop]) for start, stop in ranges])
        rows = np.array([stop - start for start, stop in ranges], dtype=np.int64)
        return cls(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3], rows)

    def overlapping(self, viewport: Viewport) -> list[int]:
        """Partitions that may hold a point inside ``viewport`` (both closed)."""
        meets = (
            (self.x0 <= viewport.x1)
            & (self.x1 >= viewport.x0)
            & (self.y0 <= viewport.y1)
            & (self.y1 >= viewport.y0)
        )
        return np.flatnonzero(meets).tolist()


CONNECT_TIMEOUT = "10s"


def dataset_name(entry: CacheEntry) -> str:
    """The name a prepared table is published under on a cluster."""
    return f"shared-frame-explorer-{entry.key}"


class FrameSlices:
    """Partition reader for ``dd.from_map``: zero-copy row slices of a frame in this process."""

    def __init__(self, frame: pd.DataFrame, token: str) -> None:
        self.frame = frame
        self.token = token

    def __call__(self, rows: tuple[int, int]) -> pd.DataFrame:
        return self.frame.iloc[rows[0] : rows[1]]

    def __dask_tokenize__(self) -> str:
        # Dask would otherwise hash the whole frame to name the tasks.
        return self.token


@functools.lru_cache(maxsize=4)
def _mapped_frame(entry_path: str, key: str) -> pd.DataFrame:
    """A worker's read-only mapping of a cache entry, opened once per process."""
    return ColumnarCopies(Path(entry_path).parent).read(CacheEntry(key, Path(entry_path))).frame


class CachedSlices:
    """Partition reader for cluster workers: row slices of the columnar cache, mapped on the worker."""

    def __init__(self, entry: CacheEntry) -> None:
        self.entry_path = str(entry.path)
        self.key = entry.key

    def __call__(self, rows: tuple[int, int]) -> pd.DataFrame:
        return _mapped_frame(self.entry_path, self.key).iloc[rows[0] : rows[1]]

    def __dask_tokenize__(self) -> str:
        return self.key


class DaskBackend(Backend):
    """Aggregates a persisted Dask frame, reading only the partitions that meet the view."""

    def __init__(
        self, frame: dd.DataFrame, bounds: PartitionBounds, *, x: str, y: str, client: Client | None = None
    ) -> None:
        super().__init__(frame.dtypes, x, y)
        self.frame = frame
        self.bounds = bounds
        self.client = client
        self._empty = frame._meta

    @classmethod
    def in_process(cls, table: PreparedTable, token: str, threads: int) -> DaskBackend:
        """Partitions as slices of ``table``'s frame, held by this process."""
        ranges = partition_rows(table.rows, partitions_for(threads))
        frame = dd.from_map(  # type: ignore[no-untyped-call]
            FrameSlices(table.frame, token),
            ranges,
            meta=table.frame.iloc[:0],
            divisions=None,
            enforce_metadata=False,
            label="rows",
        ).persist(scheduler="threads")
        return cls(frame, cls._bounds(table, ranges), x=table.x, y=table.y)

    @classmethod
    def on_cluster(cls, table: PreparedTable, entry: CacheEntry, address: str) -> DaskBackend:
        """Partitions persisted on the cluster at ``address``, mapped by its workers from ``entry``.

        The persisted frame is published under :func:`dataset_name`; a process that finds it
        published (another server process, here or on another machine) reuses it.
        """
        # imported here: importing distributed sets the "bokeh" logger to ERROR, which would hide
        # Bokeh's own lines ("Bokeh app running at ...") whenever no cluster is used
        from distributed import Client

        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {address!r}: {err}") from err
        name = dataset_name(entry)
        worker_threads = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
        ranges = partition_rows(table.rows, partitions_for(worker_threads))
        try:
            frame = client.get_dataset(name)
            logger.info("reusing dataset %s published on %s", name, address)
        except KeyError:
            frame = client.persist(
                dd.from_map(  # type: ignore[no-untyped-call]
                    CachedSlices(entry),
                    ranges,
                    meta=table.frame.iloc[:0],
                    enforce_metadata=False,
                    label="rows",
                )
            )
            try:
                client.publish_dataset(frame, name=name)
                logger.info("persisted and published dataset %s on %s", name, address)
            except KeyError:  # another process published it first: use theirs
                frame = client.get_dataset(name)
        return cls(frame, cls._bounds(table, ranges), x=table.x, y=table.y, client=client)

    def close(self) -> None:
        """Disconnect from the cluster (the published dataset stays for other processes)."""
        if self.client is not None:
            self.client.close()  # type: ignore[no-untyped-call]

    @staticmethod
    def _bounds(table: PreparedTable, ranges: list[tuple[int, int]]) -> PartitionBounds:
        return PartitionBounds.of(table.frame[table.x].to_numpy(), table.frame[table.y].to_numpy(), ranges)

    def grid(self, query: GridQuery) -> tuple[npt.NDArray[np.generic], int]:
        partitions = self.bounds.overlapping(query.viewport)
        rows = int(self.bounds.rows[partitions].sum())
        if partitions:
            frame = self.frame.partitions[partitions][query.columns]
        else:
            frame = self._empty[query.columns]
        whole = query.reduction.to_datashader()
        if self.client is None:
            result: xr.DataArray = query.canvas.points(frame, self.x, self.y, agg=whole)
        else:
            from distributed.comm.core import CommClosedError
            from distributed.scheduler import KilledWorker

            try:
                with self.client.as_current():
                    result = query.canvas.points(frame, self.x, self.y, agg=whole)
            except (OSError, TimeoutError, KilledWorker, CommClosedError) as err:
                raise ClusterError(f"the Dask cluster failed to compute the image: {err}") from err
        return result.values, rows
