"""The registry of aggregation backends: a name (``--backend``) -> a factory of :class:`Backend`.

``pandas``: the index's row ranges of this process's frame, aggregated on its threads
(:class:`~pipeline.row_ranges.RowRangeBackend`, the default). ``dask``: Datashader's Dask path over
partitions of the same rows, on this process's threads or, with a scheduler's address, on a
cluster's workers that map the rows from the columnar copy (:class:`~pipeline.dask_backend.DaskBackend`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass

from .aggregate import Backend
from .columnar_copy import CacheEntry
from .dask_backend import DaskBackend
from .errors import OptionError
from .row_ranges import RowRangeBackend
from .table import PreparedTable

__all__ = ["BACKENDS", "BackendContext", "open_backend"]


@dataclass(frozen=True, eq=False)
class BackendContext:
    """What a backend's factory may use besides the table."""

    threads: int
    pool: Executor  # the process's aggregation threads, besides the calling one
    entry: CacheEntry | None  # the table's columnar copy, None without a cache folder
    scheduler: str | None  # a Dask scheduler's address
    phase: Callable[[str], None]  # reports a phase of the set-up on the loading page


def _row_ranges(table: PreparedTable, context: BackendContext) -> Backend:
    return RowRangeBackend(
        table.frame, x=table.x, y=table.y, index=table.index, pool=context.pool, threads=context.threads
    )


def _dask(table: PreparedTable, context: BackendContext) -> Backend:
    if context.scheduler is None:
        context.phase("Partitioning")
        token = context.entry.key if context.entry else uuid.uuid4().hex
        return DaskBackend.in_process(table, token=token, threads=context.threads)
    if context.entry is None:
        raise OptionError("a Dask scheduler needs a cache folder for its workers to read")
    context.phase(f"Persisting on the Dask cluster at {context.scheduler}")
    return DaskBackend.on_cluster(table, context.entry, context.scheduler)


BACKENDS: dict[str, Callable[[PreparedTable, BackendContext], Backend]] = {
    "pandas": _row_ranges,
    "dask": _dask,
}


def open_backend(name: str, table: PreparedTable, context: BackendContext) -> Backend:
    """The backend ``name`` over ``table``."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise OptionError(f"unknown backend {name!r}; expected one of {list(BACKENDS)}")
    return factory(table, context)
