"""Latest-wins execution: at most one job running per owner, newer requests replace queued ones."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

__all__ = ["LatestOnly"]

RequestT = TypeVar("RequestT")
ResultT = TypeVar("ResultT")


class LatestOnly(Generic[RequestT, ResultT]):
    """Runs ``submit(request)`` for one request at a time; while one runs, only the newest waits.

    ``on_done(request, future, superseded)`` is called from the worker's thread when a job
    ends; ``superseded`` is true when a newer request was already waiting, so its result is
    stale. Requests equal to the last one submitted are dropped.
    """

    def __init__(
        self,
        submit: Callable[[RequestT], Future[ResultT]],
        on_done: Callable[[RequestT, Future[ResultT], bool], None],
    ) -> None:
        self._submit = submit
        self._on_done = on_done
        self._lock = threading.Lock()
        self._running: RequestT | None = None
        self._waiting: RequestT | None = None
        self._last: RequestT | None = None
        self._closed = False

    def request(self, request: RequestT) -> bool:
        """Ask for ``request``; returns False when it equals the last one asked for."""
        with self._lock:
            if self._closed or request == self._last:
                return False
            self._last = request
            if self._running is not None:
                self._waiting = request
                return True
            self._running = request
        self._start(request)
        return True

    def forget_last(self) -> None:
        """Let the next request run even if it equals the last one (after a failure)."""
        with self._lock:
            self._last = None

    def close(self) -> None:
        """Drop any waiting request and refuse new ones."""
        with self._lock:
            self._closed = True
            self._waiting = None

    def _start(self, request: RequestT) -> None:
        try:
            future = self._submit(request)
        except Exception as err:  # e.g. the pool is shut down: report it like a failed job
            future = Future()
            future.set_exception(err)
        future.add_done_callback(lambda done: self._finished(request, done))

    def _finished(self, request: RequestT, future: Future[ResultT]) -> None:
        with self._lock:
            following = self._waiting
            self._waiting = None
            self._running = following
        self._on_done(request, future, following is not None)
        if following is not None:
            self._start(following)
