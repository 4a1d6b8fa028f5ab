"""A ``bokeh.client`` session whose IO loop runs in its own thread.

``bokeh.client`` applies the server's patches only while its loop runs
(``loop_until_closed``), so the loop gets a thread and every change to the client's
document is scheduled onto that loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from bokeh.client import ClientSession, pull_session
from bokeh.client.states import DISCONNECTED, NOT_YET_CONNECTED
from bokeh.document import Document

from app.wire import unpacked_image

__all__ = ["AppClient", "ImageUpdate"]

T = TypeVar("T")
UNWIND_EVERY = 100  # messages


@dataclass(frozen=True)
class ImageUpdate:
    """One image as the client received it, with its arrival time (``time.perf_counter``)."""

    grid: npt.NDArray[Any]
    x: float
    y: float
    dw: float
    dh: float
    received: float

    @property
    def ranges(self) -> tuple[float, float, float, float]:
        """The image's data ranges (the far ends as ``x + dw``, which may differ in the last bit)."""
        return (self.x, self.x + self.dw, self.y, self.y + self.dh)


class AppClient:
    """One viewer's session, driven from the calling thread."""

    def __init__(self, url: str, timeout: float = 30.0, arguments: dict[str, str] | None = None) -> None:
        self.url = url
        self.arguments = arguments
        self.updates: list[ImageUpdate] = []
        self._changed = threading.Condition()
        self._session_ready: Future[ClientSession] = Future()
        self._thread = threading.Thread(target=self._run, name="bokeh-client", daemon=True)
        self._thread.start()
        self.session = self._session_ready.result(timeout)
        self._watched_source: object | None = None

    def _run(self) -> None:
        try:
            session = pull_session(url=self.url, arguments=self.arguments)
        except BaseException as err:
            self._session_ready.set_exception(err)
            return
        # Small frames must not wait for delayed ACKs (see app/hooks.py).
        session._connection._socket._socket.protocol.set_nodelay(True)  # type: ignore[attr-defined]
        self._session_ready.set_result(session)
        connection = session._connection
        handled = 0

        def closed_or_deep() -> bool:
            # bokeh.client handles each message one coroutine deeper than the last, so a
            # long session would hit the recursion limit; stopping the loop every so many
            # messages unwinds the chain, and the loop starts again where it left off.
            nonlocal handled
            handled += 1
            return handled % UNWIND_EVERY == 0 or isinstance(
                connection._state, (DISCONNECTED, NOT_YET_CONNECTED)
            )

        while not isinstance(connection._state, (DISCONNECTED, NOT_YET_CONNECTED)):
            connection._loop_until(closed_or_deep)

    @property
    def document(self) -> Document:
        return self.session.document

    def call(self, function: Callable[[], T], timeout: float = 10.0) -> T:
        """Run ``function`` on the client's loop and return its result."""
        result: Future[T] = Future()

        def run() -> None:
            try:
                result.set_result(function())
            except BaseException as err:
                result.set_exception(err)

        self.session._connection.io_loop.add_callback(run)
        return result.result(timeout)

    def _watch(self) -> bool:
        """Record image updates once the plot exists; true when it does."""
        if self._watched_source is not None:
            return True
        source = self.document.get_model_by_name("image_wire")  # the page's grid, packed
        if source is None:
            return False

        def on_data(attr: str, old: object, new: object) -> None:
            self._record(source)

        source.on_change("data", on_data)
        self._watched_source = source
        self._record(source)
        return True

    def _record(self, source: Any) -> None:
        data = unpacked_image(source.data)  # as the page unpacks it
        if not len(data["image"]):
            return
        update = ImageUpdate(
            np.asarray(data["image"][0]),
            float(data["x"][0]),
            float(data["y"][0]),
            float(data["dw"][0]),
            float(data["dh"][0]),
            time.perf_counter(),
        )
        with self._changed:
            self.updates.append(update)
            self._changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.call(predicate):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.05)

    def wait_for_plot(self, timeout: float = 120.0) -> ImageUpdate:
        """Wait through the loading page until the first image has arrived."""
        self.wait_until(self._watch, timeout)
        return self.wait_for_image(lambda update: True, timeout)

    def wait_for_image(self, accept: Callable[[ImageUpdate], bool], timeout: float = 30.0) -> ImageUpdate:
        """The first received image (past or future) that ``accept`` takes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for update in reversed(self.updates):
                    if accept(update):
                        return update
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no accepted image within {timeout} s; last: {self.updates[-1:]}")
                self._changed.wait(remaining)

    def set_ranges(self, x0: float, x1: float, y0: float, y1: float) -> float:
        """Set the plot's ranges as a script would; returns the time they were sent."""

        def assign() -> float:
            plot: Any = self.document.get_model_by_name("main_plot")
            plot.x_range.start, plot.x_range.end = x0, x1
            plot.y_range.start, plot.y_range.end = y0, y1
            return time.perf_counter()

        return self.call(assign)

    def request_view(self, x0: float, x1: float, y0: float, y1: float, timeout: float = 30.0) -> ImageUpdate:
        """Set the ranges and wait for the image of exactly those ranges."""
        sent = self.set_ranges(x0, x1, y0, y1)
        wanted = (x0, x1, y0, y1)
        return self.wait_for_image(
            lambda u: u.received >= sent and np.allclose(u.ranges, wanted, rtol=0, atol=1e-12), timeout
        )

    def text_of(self, name: str) -> str | None:
        def read() -> str | None:
            model: Any = self.document.get_model_by_name(name)
            return None if model is None else str(model.text)

        return self.call(read)

    def close(self) -> None:
        """Close the session on its own loop (tornado's streams are not thread-safe)."""
        if self._thread.is_alive():
            self.session._connection.io_loop.add_callback(self.session.close)
            self._thread.join(10)
        else:  # the server went away first: the loop has ended, but the socket is still open
            self.session.close()

    def __enter__(self) -> AppClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
