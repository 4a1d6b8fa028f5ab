"""The process-wide store: one read-only dataset per process, loaded in the background.

The Bokeh server fills it once from ``on_server_loaded``; every session only reads it.
It owns the threads that aggregate, so no rendering runs on the server's event loop.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
import numpy.typing as npt
import pandas as pd

from .aggregate import Aggregate, Aggregator, GridAggregator, compact_grid
from .cache import AggregateCache, CacheKey
from .column_cache import CacheEntry, ColumnCache
from .dask_backend import DaskAggregator
from .errors import PipelineError
from .index import SpatialIndex
from .memory import rss_bytes
from .packing import PACKABLE, pack_grid
from .reduction import Reduction, categorical_columns, numeric_columns
from .settings import Settings
from .sources import DataSource
from .table import PreparedTable, prepare_table
from .viewport import Canvas, Viewport

__all__ = ["DataStore", "Dataset", "LoadState", "LoadStatus", "Rendered", "blank_sparse_pixels", "get_store"]

logger = logging.getLogger(__name__)

RENDER_WORKERS = 4  # concurrent images across all sessions; each may use ``threads`` cores


class LoadState(Enum):
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadStatus:
    """A snapshot of loading, for progress pages."""

    state: LoadState
    phase: str
    rows: int
    fraction: float
    description: str
    error: str | None = None

    def message(self) -> str:
        if self.state is LoadState.FAILED:
            return f"Loading {self.description} failed: {self.error}"
        if self.state is LoadState.READY:
            return f"{self.description}: {self.rows:,} {'row' if self.rows == 1 else 'rows'} ready"
        return f"{self.phase} {self.description}: {self.rows:,} rows ({self.fraction:.0%})"


@dataclass(frozen=True, eq=False)
class Dataset:
    """The loaded rows (sorted by the index when there is one) and how to aggregate them."""

    frame: pd.DataFrame
    x: str
    y: str
    index: SpatialIndex | None
    extent: Viewport
    aggregator: GridAggregator
    load_seconds: float
    from_cache: bool

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in numeric_columns(self.frame.dtypes) if c not in (self.x, self.y)]

    @property
    def categorical_columns(self) -> list[str]:
        return categorical_columns(self.frame.dtypes)

    def categories(self, column: str) -> list[str]:
        """The labels of a categorical column, in the order of a ``count_by`` grid's last axis."""
        return [str(label) for label in self.frame[column].cat.categories]

    @property
    def nbytes(self) -> int:
        return int(self.frame.memory_usage(deep=False).sum()) + (self.index.nbytes if self.index else 0)


@dataclass(frozen=True, eq=False)
class Rendered:
    """An aggregate as delivered to a viewer."""

    aggregate: Aggregate
    from_cache: bool
    seconds: float


def blank_sparse_pixels(
    grid: npt.NDArray[np.generic], counts: npt.NDArray[np.generic], min_count: int
) -> npt.NDArray[np.generic]:
    """``grid`` with every pixel of fewer than ``min_count`` rows emptied (0 for counts, else NaN).

    With ``--min-count``, an image never shows a pixel that a few individual rows make up.
    """
    blanked = grid.copy()
    sparse = np.less(counts, min_count)
    if blanked.dtype.kind in "ui":
        blanked[sparse] = 0
    else:
        blanked[sparse] = np.nan
    return blanked


def home_viewport(extent: Viewport) -> Viewport:
    """The initial view: the data's extent, widened where it has no width."""
    x0, x1, y0, y1 = extent.x0, extent.x1, extent.y0, extent.y1
    if not x1 > x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if not y1 > y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    return Viewport.from_ranges(x0, x1, y0, y1)


class DataStore:
    """One per process (see :func:`get_store`): loads once, then serves aggregates to all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._settings: Settings | None = None
        self._status = LoadStatus(LoadState.IDLE, "waiting", 0, 0.0, "no data")
        self._dataset: Dataset | None = None
        self._render_pool: ThreadPoolExecutor | None = None
        self._chunk_pool: ThreadPoolExecutor | None = None
        self.cache = AggregateCache(0)

    # -- loading ---------------------------------------------------------------------------
    @property
    def settings(self) -> Settings | None:
        return self._settings

    def start(self, settings: Settings) -> None:
        """Begin loading in a background thread; a second call with the same settings is a no-op."""
        with self._lock:
            if self._settings is not None:
                if self._settings != settings:
                    raise PipelineError(
                        f"store already holds data for {self._settings}; cannot also load {settings}"
                    )
                return
            self._settings = settings
            self.cache = AggregateCache(settings.cache_mb << 20)
            self._render_pool = ThreadPoolExecutor(RENDER_WORKERS, thread_name_prefix="render")
            self._chunk_pool = ThreadPoolExecutor(
                max(settings.threads - 1, 1), thread_name_prefix="aggregate"
            )
            self._status = LoadStatus(LoadState.LOADING, "Starting", 0, 0.0, "data")
        threading.Thread(target=self._load, args=(settings,), name="load-data", daemon=True).start()

    def _set_status(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _load(self, settings: Settings) -> None:
        started = time.perf_counter()
        try:
            source = settings.make_source()
            self._set_status(description=source.describe(), phase="Reading")
            logger.info("loading %s", source.describe())
            table, entry, from_cache = self._read(source, settings)
            dataset = Dataset(
                table.frame,
                table.x,
                table.y,
                table.index,
                table.extent,
                self._aggregator(table, entry, settings),
                load_seconds=time.perf_counter() - started,
                from_cache=from_cache,
            )
            self._set_status(phase="Warming up", rows=dataset.rows, fraction=1.0)
            self._warm_up(dataset, settings, [Reduction()])
        except PipelineError as err:
            self._fail(str(err))
        except Exception as err:
            logger.exception("loading failed")
            self._fail(f"{type(err).__name__}: {err}")
        else:
            with self._lock:
                self._dataset = dataset
                self._status = replace(self._status, state=LoadState.READY, phase="Ready", fraction=1.0)
            self._ready.set()
            logger.info(
                "ready: %s rows in %.1f s (%s in %.1f s), %.0f MiB data, RSS %.0f MiB",
                f"{dataset.rows:,}",
                time.perf_counter() - started,
                "mapped from the cache" if from_cache else "read and indexed",
                dataset.load_seconds,
                dataset.nbytes / 2**20,
                rss_bytes() / 2**20,
            )
            # Compiling the other reductions takes seconds: do it after the first image is served.
            started = time.perf_counter()
            others = self.offered_reductions(dataset)[1:]
            self._warm_up(dataset, settings, others, render_home=False)
            logger.info(
                "compiled %d more reductions in %.1f s, RSS %.0f MiB",
                len(others),
                time.perf_counter() - started,
                rss_bytes() / 2**20,
            )

    def _read(self, source: DataSource, settings: Settings) -> tuple[PreparedTable, CacheEntry | None, bool]:
        """The prepared table (mapped from the columnar cache, or read, indexed and cached),
        its cache entry (None without a cache folder) and whether it came from the cache."""

        def read_and_prepare() -> PreparedTable:
            frame = source.load(lambda rows, fraction: self._set_status(rows=rows, fraction=fraction))
            self._set_status(phase="Indexing", rows=len(frame), fraction=1.0)
            started = time.perf_counter()
            table = prepare_table(
                frame, source.x, source.y, indexed=settings.index, name=str(settings.source or "the data")
            )
            logger.info("indexed %s rows in %.1f s", f"{table.rows:,}", time.perf_counter() - started)
            return table

        if settings.cache_dir is None:
            return read_and_prepare(), None, False
        cache = ColumnCache(settings.cache_dir)
        table, from_cache = cache.open(
            source,
            indexed=settings.index,
            build=read_and_prepare,
            waiting=lambda: self._set_status(phase="Waiting for another process to read"),
        )
        return table, cache.entry(source, indexed=settings.index), from_cache

    def _aggregator(
        self, table: PreparedTable, entry: CacheEntry | None, settings: Settings
    ) -> GridAggregator:
        if settings.scheduler is not None:
            if entry is None:
                raise PipelineError("a Dask scheduler needs a cache folder for its workers to read")
            self._set_status(phase=f"Persisting on the Dask cluster at {settings.scheduler}")
            return DaskAggregator.on_cluster(table, entry, settings.scheduler)
        if settings.backend == "dask":
            self._set_status(phase="Partitioning")
            return DaskAggregator.in_process(
                table, token=entry.key if entry else uuid.uuid4().hex, threads=settings.threads
            )
        return Aggregator(
            table.frame,
            x=table.x,
            y=table.y,
            index=table.index,
            pool=self._chunk_pool,
            threads=settings.threads,
        )

    def _fail(self, message: str) -> None:
        logger.error("loading failed: %s", message)
        with self._lock:
            self._status = replace(self._status, state=LoadState.FAILED, phase="Failed", error=message)
        self._ready.set()

    def _warm_up(
        self, dataset: Dataset, settings: Settings, reductions: list[Reduction], *, render_home: bool = True
    ) -> None:
        """Compile Datashader's kernels for ``reductions``, then (optionally) fill the home view."""
        sample = Aggregator(
            dataset.frame.iloc[: min(dataset.rows, 1000)], x=dataset.x, y=dataset.y, index=None, pool=None
        )
        home = home_viewport(dataset.extent)
        canvas = Canvas(settings.width, settings.height)
        for reduction in reductions:
            sample.aggregate(home, canvas, reduction)
        if render_home:
            self._render(dataset, home, canvas, Reduction())

    @staticmethod
    def offered_reductions(dataset: Dataset) -> list[Reduction]:
        """``count``, each column reduction of each extra numeric column, and ``count_by``
        of each categorical column."""
        return (
            [Reduction()]
            + [
                Reduction(name, column)
                for column in dataset.numeric_columns
                for name in ("sum", "mean", "min", "max")
            ]
            + [Reduction("count_by", column) for column in dataset.categorical_columns]
        )

    def wait_ready(self, timeout: float | None = None) -> LoadStatus:
        """Block until loading ends (ready or failed), then return the status."""
        self._ready.wait(timeout)
        return self.status()

    def status(self) -> LoadStatus:
        with self._lock:
            return self._status

    @property
    def dataset(self) -> Dataset:
        """The loaded dataset; raises if loading has not succeeded."""
        dataset = self._dataset
        if dataset is None:
            raise PipelineError(f"data is not ready: {self.status().message()}")
        return dataset

    # -- rendering ---------------------------------------------------------------------------
    def home_viewport(self) -> Viewport:
        return home_viewport(self.dataset.extent)

    def _render(self, dataset: Dataset, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Rendered:
        started = time.perf_counter()

        min_count = self._settings.min_count if self._settings else 0

        def compute() -> Aggregate:
            aggregate = dataset.aggregator.aggregate(viewport, canvas, reduction)
            if min_count > 1:
                counts = (
                    aggregate.grid
                    if reduction.name == "count"
                    else self._render(dataset, viewport, canvas, Reduction()).aggregate.grid
                )
                aggregate = replace(aggregate, grid=blank_sparse_pixels(aggregate.grid, counts, min_count))
            grid = compact_grid(aggregate.grid)
            grid.flags.writeable = False  # shared by every viewer of this view
            # packed here, on a render thread, once for every viewer of the view
            packed = pack_grid(grid) if grid.ndim == 2 and grid.dtype.name in PACKABLE else None
            if packed is not None:
                packed.data.flags.writeable = False  # shared too
            return replace(aggregate, grid=grid, packed=packed)

        aggregate, from_cache = self.cache.get_or_compute(CacheKey(viewport, canvas, reduction), compute)
        return Rendered(aggregate, from_cache, time.perf_counter() - started)

    def render(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Rendered:
        """The aggregate for a view, from the cache or computed (blocking: call off the event loop)."""
        return self._render(self.dataset, viewport, canvas, reduction)

    def submit(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Future[Rendered]:
        """:meth:`render` on the store's render threads."""
        pool = self._render_pool
        if pool is None:
            raise PipelineError("the store has not been started")
        return pool.submit(self.render, viewport, canvas, reduction)

    def close(self) -> None:
        """Release the data and the threads (the server is shutting down)."""
        with self._lock:
            pools = (self._render_pool, self._chunk_pool)
            self._render_pool = self._chunk_pool = None
            dataset, self._dataset = self._dataset, None
            self.cache.clear()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if dataset is not None and isinstance(dataset.aggregator, DaskAggregator):
            dataset.aggregator.close()


@functools.lru_cache(maxsize=1)
def get_store() -> DataStore:
    """The process-wide store. ``get_store.cache_clear()`` gives tests a fresh one."""
    return DataStore()
