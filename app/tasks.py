"""Work done off a session's event loop and brought back to it, with its errors reported.

Renders, counts and downloads run on worker threads; results come back through
``add_next_tick_callback``, the one thread-safe way into a Bokeh document.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any, TypeVar

from bokeh.document import Document

from pipeline import InputError, ServiceError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SessionTasks:
    """Runs callbacks on ``doc``'s event loop from any thread, until :meth:`close`."""

    def __init__(self, doc: Document, report: Callable[[str], None]) -> None:
        self.doc = doc
        self.report = report
        self.closed = False

    def next_tick(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the document's event loop; callable from any thread."""
        if self.closed:
            return
        try:
            self.doc.add_next_tick_callback(callback)
        except Exception:  # the session ended meanwhile
            logger.debug("session gone before a result arrived", exc_info=True)

    def when_done(self, future: Future[T], apply: Callable[[Future[T]], None]) -> None:
        """Run ``apply(future)`` on the document's event loop once ``future`` is done."""
        future.add_done_callback(lambda done: self.next_tick(partial(self.apply_unless_closed, apply, done)))

    def apply_unless_closed(self, apply: Callable[[Future[T]], None], future: Future[T]) -> None:
        if not self.closed:
            apply(future)

    def failed(self, future: Future[Any], what: str, subject: object) -> bool:
        """Report the error of a done ``future``, if it has one, to this session."""
        error = future.exception()
        if error is None:
            return False
        self.report_error(error, what, subject)
        return True

    def report_error(self, error: BaseException, what: str, subject: object) -> None:
        """Bad input or an unavailable service is told as it is; anything else is a bug: logged
        with its traceback, and named to the viewer as a failure of ``what``."""
        if isinstance(error, InputError | ServiceError):
            self.report(str(error))
        else:
            logger.error("%s of %s failed", what, subject, exc_info=error)
            self.report(f"{what} failed: {type(error).__name__}: {error}")

    def close(self) -> None:
        self.closed = True
