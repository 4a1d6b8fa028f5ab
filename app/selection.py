"""The number of rows inside a box drawn with the box-select tool.

The count is the one-pixel count image of the box: Datashader's ranges are closed, so its one
pixel holds exactly the rows with ``x0 <= x <= x1`` and ``y0 <= y <= y1``. It is rendered on
the store's threads and cached like any image.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from concurrent.futures import Future

from bokeh.events import Event, SelectionGeometry
from bokeh.models.plots import Plot
from bokeh.models.widgets import Div

from pipeline import Canvas, DataStore, PipelineError, Reduction, Rendered, Viewport, ViewportError

from .tasks import SessionTasks

ONE_PIXEL = Canvas(1, 1)


def box_viewport(geometry: Mapping[str, object]) -> Viewport:
    """The data-space box of a ``SelectionGeometry`` event's geometry.

    Raises :class:`ViewportError` for anything but a rectangle with width and height.
    """
    kind = geometry.get("type")
    if kind != "rect":
        raise ViewportError(f"expected a rectangular selection, got a {kind!r} geometry")
    x0, x1, y0, y1 = (geometry.get(end) for end in ("x0", "x1", "y0", "y1"))
    for axis, start, end in (("width", x0, x1), ("height", y0, y1)):
        if start == end:
            raise ViewportError(f"the selected box has no {axis}; drag a box to count the rows inside it")
    return Viewport.from_ranges(x0, x1, y0, y1)


def span_text(start: float, end: float) -> str:
    """``start to end``, to three significant digits of the width (as the hover read-out shows pixels)."""
    decimals = min(20, max(0, 2 - math.floor(math.log10(end - start))))
    return f"{start:.{decimals}f} to {end:.{decimals}f}"


def selection_text(rows: int, box: Viewport, min_count: int) -> str:
    """What the page says about a counted box.

    With ``--min-count K`` a box of fewer than K rows counts as empty, as any pixel does.
    """
    where = f"in x {span_text(box.x0, box.x1)}, y {span_text(box.y0, box.y1)}"
    if rows == 0 and min_count > 1:
        return f"fewer than {min_count:,} rows {where}"
    return f"{rows:,} {'row' if rows == 1 else 'rows'} {where}"


class BoxCounter:
    """Counts the rows in each box drawn on ``plot`` and says how many in ``text``."""

    def __init__(self, plot: Plot, text: Div, store: DataStore, tasks: SessionTasks) -> None:
        self.text = text
        self.store = store
        self.tasks = tasks
        self.box: Viewport | None = None  # the box whose count is awaited or shown
        plot.on_event(SelectionGeometry, self._on_box_selected)

    def _on_box_selected(self, event: Event) -> None:
        assert isinstance(event, SelectionGeometry)
        if not event.final:
            return
        try:
            box = box_viewport(event.geometry or {})
        except ViewportError as err:
            self.box = None  # a count still on its way is no longer wanted
            self.text.text = html.escape(str(err))
            return
        self.box = box
        self.text.text = "counting the rows in the box..."
        try:
            future = self.store.submit(box, ONE_PIXEL, Reduction())
        except PipelineError as err:  # the server is shutting down
            self.tasks.report(str(err))
            return
        self.tasks.when_done(future, self._show_count)

    def _show_count(self, future: Future[Rendered]) -> None:
        if self.tasks.failed(future, "counting", "the selected box"):
            return
        counted = future.result().aggregate
        if counted.viewport != self.box:  # a later box was selected meanwhile
            return
        min_count = self.store.settings.min_count if self.store.settings else 0
        self.text.text = selection_text(int(counted.grid.sum()), counted.viewport, min_count)
