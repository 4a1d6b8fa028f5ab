"""The process-wide store: one read-only dataset per process, loaded in the background.

The Bokeh server fills it once from ``on_server_loaded``; every session only reads it.
It owns the threads that aggregate, so no rendering runs on the server's event loop.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum

import pandas as pd

from .aggregate import Aggregate, Aggregator, compact_grid
from .cache import AggregateCache, CacheKey
from .errors import PipelineError, SourceError
from .index import SpatialIndex, finite_extent
from .memory import rss_bytes
from .reduction import Reduction, numeric_columns
from .settings import Settings
from .viewport import Canvas, Viewport

__all__ = ["DataStore", "Dataset", "LoadState", "LoadStatus", "Rendered", "get_store"]

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
            return f"{self.description}: {self.rows:,} rows ready"
        return f"{self.phase} {self.description}: {self.rows:,} rows ({self.fraction:.0%})"


@dataclass(frozen=True, eq=False)
class Dataset:
    """The loaded rows (sorted by the index when there is one) and how to aggregate them."""

    frame: pd.DataFrame
    x: str
    y: str
    index: SpatialIndex | None
    extent: Viewport
    aggregator: Aggregator
    load_seconds: float
    index_seconds: float

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def numeric_columns(self) -> list[str]:
        return [c for c in numeric_columns(self.frame.dtypes) if c not in (self.x, self.y)]

    @property
    def nbytes(self) -> int:
        return int(self.frame.memory_usage(deep=False).sum()) + (self.index.nbytes if self.index else 0)


@dataclass(frozen=True, eq=False)
class Rendered:
    """An aggregate as delivered to a viewer."""

    aggregate: Aggregate
    from_cache: bool
    seconds: float


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
            frame = source.load(lambda rows, fraction: self._set_status(rows=rows, fraction=fraction))
            loaded = time.perf_counter()
            self._set_status(phase="Indexing", rows=len(frame), fraction=1.0)
            dataset = self._prepare(frame, source.x, source.y, settings, loaded - started)
            self._set_status(phase="Warming up")
            self._warm_up(dataset, settings)
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
                "ready: %s rows in %.1f s (load %.1f s, index %.1f s), %.0f MiB data, RSS %.0f MiB",
                f"{dataset.rows:,}",
                time.perf_counter() - started,
                dataset.load_seconds,
                dataset.index_seconds,
                dataset.nbytes / 2**20,
                rss_bytes() / 2**20,
            )

    def _fail(self, message: str) -> None:
        logger.error("loading failed: %s", message)
        with self._lock:
            self._status = replace(self._status, state=LoadState.FAILED, phase="Failed", error=message)
        self._ready.set()

    def _prepare(
        self, frame: pd.DataFrame, x: str, y: str, settings: Settings, load_seconds: float
    ) -> Dataset:
        started = time.perf_counter()
        index: SpatialIndex | None = None
        if settings.index:
            frame, index = SpatialIndex.sort_frame(frame, x, y)
            extent = index.extent
        else:
            extent = finite_extent(frame[x].to_numpy(), frame[y].to_numpy())
        if extent is None:
            raise SourceError(
                f"no row of {settings.source or 'the data'} has finite values in both {x!r} and {y!r}"
            )
        index_seconds = time.perf_counter() - started
        aggregator = Aggregator(frame, x=x, y=y, index=index, pool=self._chunk_pool, threads=settings.threads)
        return Dataset(frame, x, y, index, extent, aggregator, load_seconds, index_seconds)

    def _warm_up(self, dataset: Dataset, settings: Settings) -> None:
        """Compile Datashader's kernels for every reduction offered, then fill the home view."""
        sample = Aggregator(
            dataset.frame.iloc[: min(dataset.rows, 1000)], x=dataset.x, y=dataset.y, index=None, pool=None
        )
        home = home_viewport(dataset.extent)
        canvas = Canvas(settings.width, settings.height)
        for reduction in self.offered_reductions(dataset):
            sample.aggregate(home, canvas, reduction)
        self._render(dataset, home, canvas, Reduction())

    @staticmethod
    def offered_reductions(dataset: Dataset) -> list[Reduction]:
        """``count`` plus each column reduction of each extra numeric column."""
        return [Reduction()] + [
            Reduction(name, column)
            for column in dataset.numeric_columns
            for name in ("sum", "mean", "min", "max")
        ]

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

        def compute() -> Aggregate:
            aggregate = dataset.aggregator.aggregate(viewport, canvas, reduction)
            grid = compact_grid(aggregate.grid)
            grid.flags.writeable = False  # shared by every viewer of this view
            return replace(aggregate, grid=grid)

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
            self._dataset = None
            self.cache.clear()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)


@functools.lru_cache(maxsize=1)
def get_store() -> DataStore:
    """The process-wide store. ``get_store.cache_clear()`` gives tests a fresh one."""
    return DataStore()
