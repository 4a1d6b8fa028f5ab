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

from .aggregate import Aggregate, shareable
from .backends import BackendContext, open_backend
from .columnar_copy import CacheEntry, ColumnarCopies
from .dataset import Dataset, LoadState, LoadStatus, home_viewport
from .errors import InputError, ServiceError, StoreError
from .image_cache import ImageCache, ImageKey
from .memory import rss_bytes
from .reduction import Reduction
from .row_ranges import RowRangeBackend
from .settings import Settings
from .sources import DataSource
from .table import PreparedTable, prepare_table
from .viewport import Canvas, Viewport

__all__ = ["DataStore", "Rendered", "get_store"]

logger = logging.getLogger(__name__)

RENDER_WORKERS = 4  # concurrent images across all sessions; each may use ``threads`` cores
WARM_UP_ROWS = 1000  # rows that compile a reduction's kernels
# Compiling a reduction takes a core (and the GIL) for 0.3 to 1 s: the reductions not needed for
# the first image compile after ready, one at a time, each once no image has been rendered for
# this long, so that they never slow a viewer's images.
QUIET_BEFORE_COMPILING = 1.0  # s


@dataclass(frozen=True, eq=False)
class Rendered:
    """An aggregate as delivered to a viewer."""

    aggregate: Aggregate
    from_cache: bool
    seconds: float


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
        self.cache = ImageCache(0)
        self._rendering = threading.Condition()  # guards the two figures below
        self._renders_running = 0
        self._last_render = time.monotonic()  # when the last render ended

    # -- loading ---------------------------------------------------------------------------
    @property
    def settings(self) -> Settings | None:
        return self._settings

    def start(self, settings: Settings) -> None:
        """Begin loading in a background thread; a second call with the same settings is a no-op."""
        with self._lock:
            if self._settings is not None:
                if self._settings != settings:
                    raise StoreError(
                        f"store already holds data for {self._settings}; cannot also load {settings}"
                    )
                return
            self._settings = settings
            self.cache = ImageCache(settings.cache_mb << 20)
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
            dataset = self._open_dataset(settings, started)
            self._set_status(phase="Warming up", rows=dataset.rows, fraction=1.0)
            self._compile(dataset, [Reduction()])
            self._render(dataset, home_viewport(dataset.extent), self.canvas, Reduction())
        except (InputError, ServiceError) as err:  # the message says it all
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
                "mapped from the cache" if dataset.from_cache else "read and indexed",
                dataset.load_seconds,
                dataset.nbytes / 2**20,
                rss_bytes() / 2**20,
            )
            started = time.perf_counter()
            others = dataset.offered_reductions()[1:]
            for reduction in others:
                if not self._wait_for_quiet():
                    return  # closed
                self._compile(dataset, [reduction])
            logger.info(
                "compiled %d more reductions in %.1f s, each while no image was rendered, RSS %.0f MiB",
                len(others),
                time.perf_counter() - started,
                rss_bytes() / 2**20,
            )

    def _open_dataset(self, settings: Settings, started: float) -> Dataset:
        source = settings.make_source()
        self._set_status(description=source.describe(), phase="Reading")
        logger.info("loading %s", source.describe())
        table, entry, from_cache = self._read(source, settings)
        assert self._chunk_pool is not None
        context = BackendContext(
            threads=settings.threads,
            pool=self._chunk_pool,
            entry=entry,
            scheduler=settings.scheduler,
            phase=lambda phase: self._set_status(phase=phase),
        )
        backend = open_backend(settings.backend, table, context)
        return Dataset(
            table.frame,
            table.x,
            table.y,
            table.index,
            table.extent,
            backend,
            load_seconds=time.perf_counter() - started,
            from_cache=from_cache,
        )

    def _read(self, source: DataSource, settings: Settings) -> tuple[PreparedTable, CacheEntry | None, bool]:
        """The prepared table (mapped from the columnar copy, or read, indexed and copied),
        its copy's entry (None without a cache folder) and whether it came from the copy."""

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
        copies = ColumnarCopies(settings.cache_dir, max_bytes=settings.cache_dir_gb << 30)
        table, from_cache = copies.open(
            source,
            indexed=settings.index,
            build=read_and_prepare,
            waiting=lambda: self._set_status(phase="Waiting for another process to read"),
        )
        return table, copies.entry(source, indexed=settings.index), from_cache

    def _fail(self, message: str) -> None:
        logger.error("loading failed: %s", message)
        with self._lock:
            self._status = replace(self._status, state=LoadState.FAILED, phase="Failed", error=message)
        self._ready.set()

    def _compile(self, dataset: Dataset, reductions: list[Reduction]) -> None:
        """Compile Datashader's kernels for ``reductions`` on a few rows."""
        sample = RowRangeBackend(
            dataset.frame.iloc[: min(dataset.rows, WARM_UP_ROWS)],
            x=dataset.x,
            y=dataset.y,
            index=None,
            pool=None,
        )
        home = home_viewport(dataset.extent)
        for reduction in reductions:
            sample.aggregate(home, self.canvas, reduction)

    def _wait_for_quiet(self) -> bool:
        """Block until no image has been rendered for ``QUIET_BEFORE_COMPILING``; False once closed."""
        with self._rendering:
            while True:
                if self._render_pool is None:
                    return False
                quiet_for = time.monotonic() - self._last_render
                if self._renders_running == 0 and quiet_for >= QUIET_BEFORE_COMPILING:
                    return True
                self._rendering.wait(max(QUIET_BEFORE_COMPILING - quiet_for, 0.05))

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
            raise StoreError(f"data is not ready: {self.status().message()}")
        return dataset

    @property
    def canvas(self) -> Canvas:
        """The image size the settings ask for."""
        if self._settings is None:
            raise StoreError("the store has not been started")
        return Canvas(self._settings.width, self._settings.height)

    # -- rendering ---------------------------------------------------------------------------
    def home_viewport(self) -> Viewport:
        return home_viewport(self.dataset.extent)

    def _render(self, dataset: Dataset, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Rendered:
        started = time.perf_counter()
        min_count = self._settings.min_count if self._settings else 0

        def compute() -> Aggregate:
            return shareable(
                dataset.backend.aggregate(viewport, canvas, reduction),
                min_count,
                lambda: self._render(dataset, viewport, canvas, Reduction()).aggregate.grid,
            )

        aggregate, from_cache = self.cache.get_or_compute(ImageKey(viewport, canvas, reduction), compute)
        return Rendered(aggregate, from_cache, time.perf_counter() - started)

    def render(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Rendered:
        """The aggregate for a view, from the cache or computed (blocking: call off the event loop)."""
        with self._rendering:
            self._renders_running += 1
        try:
            return self._render(self.dataset, viewport, canvas, reduction)
        finally:
            with self._rendering:
                self._renders_running -= 1
                self._last_render = time.monotonic()
                self._rendering.notify_all()

    def submit(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Future[Rendered]:
        """:meth:`render` on the store's render threads."""
        pool = self._render_pool
        if pool is None:
            raise StoreError("the store has not been started")
        return pool.submit(self.render, viewport, canvas, reduction)

    def close(self) -> None:
        """Release the data and the threads (the server is shutting down)."""
        with self._lock, self._rendering:
            pools = (self._render_pool, self._chunk_pool)
            self._render_pool = self._chunk_pool = None
            self._rendering.notify_all()
            dataset, self._dataset = self._dataset, None
            self.cache.clear()
        for pool in pools:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)
        if dataset is not None:
            dataset.backend.close()


@functools.lru_cache(maxsize=1)
def get_store() -> DataStore:
    """The process-wide store. ``get_store.cache_clear()`` gives tests a fresh one."""
    return DataStore()
