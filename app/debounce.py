"""Range changes from clients that set the plot's range ends one by one, gathered into one view.

The page reports each view it shows with one ``RangesUpdate`` event. Clients that set the range
ends themselves (``bokeh.client``, scripts) send one message per property instead: the view is
requested once all four ends have changed, or once changes stop arriving for
:data:`RANGE_SETTLE` ms. Each change only notes itself; one pending check looks again until
the changes stop.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from bokeh.document import Document
from bokeh.models.ranges import Range1d
from bokeh.server.callbacks import SessionCallback

RANGE_SETTLE = 50  # ms: range properties that change within this window are one request
ENDS = 4  # x start and end, y start and end

# called with the four range ends, as the client set them (not yet validated)
Settled = Callable[[object, object, object, object], None]


class RangeDebouncer:
    """Calls ``settled`` with the ranges' ends once a client's changes to them are complete."""

    def __init__(self, doc: Document, x_range: Range1d, y_range: Range1d, settled: Settled) -> None:
        self.doc = doc
        self.x_range = x_range
        self.y_range = y_range
        self.settled = settled
        self._changed_ends: set[tuple[str, str]] = set()
        self._changed_at = 0.0  # when the last message that changed a range end was applied
        self._stamp_pending = False
        self._settle: SessionCallback | None = None
        for axis, axis_range in (("x", x_range), ("y", y_range)):
            for end in ("start", "end"):
                axis_range.on_change(end, partial(self._on_change, axis))

    def _on_change(self, axis: str, attr: str, old: object, new: object) -> None:
        self._changed_ends.add((axis, attr))
        if len(self._changed_ends) == ENDS:
            self._cancel()
            self._check()
        elif not self._stamp_pending:
            # The window opens once this message is applied: applying one takes the server
            # longer than the window for a large document, and the next change may be waiting.
            self._stamp_pending = True
            self.doc.add_next_tick_callback(self._stamp)

    def _stamp(self) -> None:
        self._stamp_pending = False
        self._changed_at = time.monotonic()
        # nothing left to check when the fourth end came with the same message
        if self._settle is None and self._changed_ends:
            self._settle = self.doc.add_timeout_callback(self._check, RANGE_SETTLE)

    def _cancel(self) -> None:
        if self._settle is not None:
            try:
                self.doc.callbacks.remove_session_callback(self._settle)
            except ValueError:  # it already ran
                pass
            self._settle = None

    def _check(self) -> None:
        self._settle = None
        wait = self._changed_at + RANGE_SETTLE / 1000 - time.monotonic()
        if wait > 0 and len(self._changed_ends) < ENDS:  # changes may still be arriving
            self._settle = self.doc.add_timeout_callback(self._check, int(wait * 1000) + 1)
            return
        self._changed_ends.clear()
        self.settled(self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)
