"""A bounded, process-wide cache of recent aggregates, shared by every viewer.

Keyed by (viewport, canvas, reduction). Bounded by the bytes of the grids it holds, evicting
the least recently used. Concurrent requests for the same key compute it once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from typing import NamedTuple

from .aggregate import Aggregate
from .reduction import Reduction
from .viewport import Canvas, Viewport

__all__ = ["ImageCache", "ImageKey"]


class ImageKey(NamedTuple):
    viewport: Viewport
    canvas: Canvas
    reduction: Reduction


class ImageCache:
    """Least-recently-used aggregates, at most ``max_bytes`` of grids in all."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[ImageKey, Aggregate] = OrderedDict()
        self._pending: dict[ImageKey, Future[Aggregate]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_compute(self, key: ImageKey, compute: Callable[[], Aggregate]) -> tuple[Aggregate, bool]:
        """The aggregate for ``key`` and whether it came from the cache."""
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached, True
            pending = self._pending.get(key)
            owner = pending is None
            if pending is None:
                pending = Future()
                self._pending[key] = pending
        if not owner:
            return pending.result(), True
        try:
            value = compute()
        except BaseException as err:
            pending.set_exception(err)
            raise
        finally:
            with self._lock:
                del self._pending[key]
        with self._lock:
            self._store(key, value)
        pending.set_result(value)
        return value, False

    def _store(self, key: ImageKey, value: Aggregate) -> None:
        if value.nbytes > self.max_bytes:
            return
        self._entries[key] = value
        self._bytes += value.nbytes
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= evicted.nbytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0
