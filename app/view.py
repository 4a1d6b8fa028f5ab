"""The per-session view: a loading page, then a plot whose image follows the plot's ranges.

Above the plot, the viewer chooses the reduction (aggregated again on the server) and the
colour map and normalisation (applied in the browser to the grid it holds, see ``mapper.py``);
hovering shows a pixel's value and extent, read from the grid in the page
(``pixel_hover.js``). The page's address carries the view and these choices (``choices.py``).

Renders run on the store's threads; results come back through ``add_next_tick_callback``,
the one thread-safe way into a Bokeh document. Per session, only the newest requested view
waits while a render runs.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Iterable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from bokeh.document import Document
from bokeh.events import Event, MouseWheel, PanEnd, PanStart, RangesUpdate
from bokeh.layouts import column, row
from bokeh.models.annotations import ColorBar
from bokeh.models.callbacks import CustomJS
from bokeh.models.glyphs import Image
from bokeh.models.ranges import Range1d
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tools import CustomJSHover, HoverTool
from bokeh.models.widgets import Div, Select
from bokeh.plotting import figure
from bokeh.server.callbacks import PeriodicCallback, TimeoutCallback
from bokeh.server.contexts import BokehSessionContext

from pipeline import (
    Canvas,
    LatestOnly,
    LoadState,
    PipelineError,
    Reduction,
    Rendered,
    Viewport,
    get_store,
)
from pipeline.memory import release_freed_memory
from pipeline.reduction import COLUMN_REDUCTIONS

from .choices import KEEP_IN_ADDRESS, choices_from_query, reduction_names
from .mapper import COLORMAPS, NORMALIZATIONS, ImageColours

logger = logging.getLogger(__name__)

LOD_TIMEOUT = 40  # ms after the last wheel tick before BokehJS reports the final ranges
RANGE_SETTLE = 8  # ms: range properties that change within this window are one request
WHEEL_GESTURE = 0.3  # s after a wheel tick during which the gesture's own report is awaited
LOADING_POLL = 200  # ms between progress updates on the loading page
PIXEL_HOVER = (Path(__file__).resolve().parent / "pixel_hover.js").read_text()

ViewRequest = tuple[Viewport, Canvas, Reduction]


def select_options(values: Iterable[str | tuple[str, str]]) -> list[str | tuple[Any, str]]:
    """A Select's options: each a value, or a value and its label."""
    return list(values)


class SessionView:
    """Everything one session holds; :meth:`close` releases all of it."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.store = get_store()
        self.closed = False
        self.loading = Div(name="loading", text="Starting...")
        self.message = Div(name="message", text="", styles={"color": "#b00020"})
        self.status = Div(name="status", text="")
        self.source = ColumnDataSource(
            name="image_source", data={"image": [], "x": [], "y": [], "dw": [], "dh": []}
        )
        self.reduction = Reduction()
        self.canvas: Canvas | None = None
        self.runner: LatestOnly[ViewRequest, Rendered] = LatestOnly(
            lambda request: self.store.submit(*request), self._render_done
        )
        self._poll: PeriodicCallback | None = None
        self._settle: TimeoutCallback | None = None
        self.x_range = Range1d()
        self.y_range = Range1d()
        self._gesture_until = 0.0
        self._changed_ends: set[tuple[str, str]] = set()
        self._gestures_seen = False
        self._error_shown = False

    # -- pages --------------------------------------------------------------------------------
    def show(self) -> None:
        """Fill the document: the plot if the data is ready, else a progress page."""
        self.doc.title = "Shared frame explorer"
        self.doc.on_session_destroyed(self._on_session_destroyed)
        state = self.store.status().state
        if state is LoadState.READY:
            self._show_plot()
        elif state is LoadState.FAILED:
            self._show_failure()
        else:
            self.doc.add_root(self.loading)
            self._update_loading()
            self._poll = self.doc.add_periodic_callback(self._update_loading, LOADING_POLL)

    def _update_loading(self) -> None:
        status = self.store.status()
        if status.state is LoadState.LOADING or status.state is LoadState.IDLE:
            self.loading.text = (
                f"<b>Loading:</b> {html.escape(status.message())} "
                f"<progress max='1' value='{status.fraction:.3f}'></progress>"
            )
            return
        if self._poll is not None:
            self.doc.remove_periodic_callback(self._poll)
            self._poll = None
        self.doc.remove_root(self.loading)
        if status.state is LoadState.READY:
            self._show_plot()
        else:
            self._show_failure()

    def _show_failure(self) -> None:
        status = self.store.status()
        self.doc.add_root(
            Div(
                name="error",
                text=f"<h3>The data could not be loaded</h3><pre>{html.escape(status.error or '')}</pre>",
            )
        )

    def _show_plot(self) -> None:
        store = self.store
        settings = store.settings
        assert settings is not None
        self.canvas = Canvas(settings.width, settings.height)
        home = store.home_viewport()
        arguments = self._address_arguments()
        start, problems = self._viewport_from_address(arguments)
        numeric = store.dataset.numeric_columns
        choices, choice_problems = choices_from_query(arguments, numeric)
        problems += choice_problems
        self.reduction = choices.reduction
        start = start or home
        # reset always returns to the whole data, even for a view opened from an address
        self.x_range.update(start=start.x0, end=start.x1, reset_start=home.x0, reset_end=home.x1)
        self.y_range.update(start=start.y0, end=start.y1, reset_start=home.y0, reset_end=home.y1)
        plot = figure(
            name="main_plot",
            x_range=self.x_range,
            y_range=self.y_range,
            frame_width=self.canvas.width,
            frame_height=self.canvas.height,
            tools="pan,wheel_zoom,box_zoom,reset",
            active_scroll="wheel_zoom",
            active_drag="pan",
            toolbar_location="above",
            min_border_right=70,  # room for the colour bar's labels
            lod_timeout=LOD_TIMEOUT,
            x_axis_label=store.dataset.x,
            y_axis_label=store.dataset.y,
        )
        self.colours = ImageColours(self.doc, self.source, choices.colormap, choices.normalization)
        self.glyph = Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=self.colours.mapper)
        image = plot.add_glyph(self.source, self.glyph)
        self.color_bar = ColorBar(color_mapper=self.colours.mapper, width=12)
        plot.add_layout(self.color_bar, "right")
        pixel = CustomJSHover(args={"source": self.source}, code=PIXEL_HOVER)
        self.hover = HoverTool(
            renderers=[image],
            tooltips=self._tooltips(self.reduction),
            formatters={"$index": pixel, "$x": pixel, "$y": pixel},
        )
        plot.add_tools(self.hover)
        plot.on_event(RangesUpdate, self._on_ranges_update)
        plot.on_event(PanStart, self._on_gesture_start)
        plot.on_event(PanEnd, self._on_gesture_end)
        plot.on_event(MouseWheel, self._on_wheel)
        for axis, axis_range in (("x", self.x_range), ("y", self.y_range)):
            for end in ("start", "end"):
                axis_range.on_change(end, partial(self._on_range_changed, axis))
        self.reduction_select = Select(
            name="reduction",
            title="Each pixel shows",
            value=choices.agg,
            options=select_options(reduction_names(numeric)),
        )
        self.column_select = Select(
            name="column", title="of column", value=choices.column, options=select_options(numeric)
        )
        for select in (self.reduction_select, self.column_select):
            select.on_change("value", self._on_reduction_changed)
        self.colormap_select = Select(
            name="colormap", title="Colour map", value=choices.colormap, options=select_options(COLORMAPS)
        )
        self.normalization_select = Select(
            name="normalization",
            title="Colour scale",
            value=choices.normalization,
            options=select_options(NORMALIZATIONS.items()),
        )
        for select in (self.colormap_select, self.normalization_select):
            select.on_change("value", self._on_colours_changed)
        selects = (self.reduction_select, self.column_select, self.colormap_select, self.normalization_select)
        self.doc.add_root(column(row(*selects), plot, self.status, self.message, name="layout"))
        keep_in_address = CustomJS(
            args={
                "x_range": self.x_range,
                "y_range": self.y_range,
                "reduction": self.reduction_select,
                "column": self.column_select,
                "colormap": self.colormap_select,
                "normalization": self.normalization_select,
            },
            code=KEEP_IN_ADDRESS,
        )
        plot.js_on_event(RangesUpdate, keep_in_address)
        for select in selects:
            select.js_on_change("value", keep_in_address)
        self.request(start)
        if problems:
            self._report(*problems)

    def _tooltips(self, reduction: Reduction) -> list[tuple[str, str]]:
        """Hover lines: the pixel's value (labelled by ``reduction``) and its x and y extent."""
        dataset = self.store.dataset
        return [(str(reduction), "$index{value}"), (dataset.x, "$x{x}"), (dataset.y, "$y{y}")]

    def _on_reduction_changed(self, attr: str, old: object, new: object) -> None:
        name = self.reduction_select.value
        column = self.column_select.value if name in COLUMN_REDUCTIONS else None
        try:
            reduction = Reduction(name, column)
            reduction.validate(self.store.dataset.frame.dtypes)
        except PipelineError as err:
            self._report(str(err))
            return
        self.reduction = reduction
        self.request_ranges(self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)

    def _on_colours_changed(self, attr: str, old: object, new: object) -> None:
        colormap, normalization = self.colormap_select.value, self.normalization_select.value
        if colormap not in COLORMAPS:
            self._report(f"unknown colour map {colormap!r}; expected one of {list(COLORMAPS)}")
            return
        if normalization not in NORMALIZATIONS:
            self._report(f"unknown normalisation {normalization!r}; expected one of {list(NORMALIZATIONS)}")
            return
        self.colours.choose(colormap, normalization)
        self.glyph.color_mapper = self.colours.mapper
        self.color_bar.color_mapper = self.colours.mapper

    def _address_arguments(self) -> dict[str, str]:
        """The query arguments of the page's address (the last value of each)."""
        context = self.doc.session_context
        request = context.request if isinstance(context, BokehSessionContext) else None
        if request is None:
            return {}
        return {key: values[-1].decode("utf-8", "replace") for key, values in request.arguments.items()}

    @staticmethod
    def _viewport_from_address(arguments: dict[str, str]) -> tuple[Viewport | None, list[str]]:
        """The view named in the address (``?x0=&x1=&y0=&y1=``), or why it was ignored."""
        try:
            return Viewport.from_query(arguments), []
        except PipelineError as err:
            return None, [f"{err}; showing the whole data instead"]

    # -- requests -------------------------------------------------------------------------------
    def request(self, viewport: Viewport) -> None:
        """Ask for the image of ``viewport``; the newest request wins."""
        assert self.canvas is not None
        if self.runner.request((viewport, self.canvas, self.reduction)):
            self._error_shown = False

    def request_ranges(self, x0: object, x1: object, y0: object, y1: object) -> None:
        """Validate raw range ends from a client, then request their image or report the error."""
        try:
            viewport = Viewport.from_ranges(x0, x1, y0, y1)
        except PipelineError as err:
            self._report(str(err))
            return
        self.request(viewport)

    def _on_ranges_update(self, event: Event) -> None:
        # One event per finished gesture, carrying the final ranges.
        assert isinstance(event, RangesUpdate)
        self._gestures_seen = True
        self._gesture_until = 0.0
        self._cancel_settle()
        self._changed_ends.clear()
        self.request_ranges(event.x0, event.x1, event.y0, event.y1)

    def _on_gesture_start(self, event: Event) -> None:
        self._gestures_seen = True
        self._gesture_until = time.monotonic() + 60.0  # until PanEnd / RangesUpdate

    def _on_gesture_end(self, event: Event) -> None:
        self._gesture_until = time.monotonic() + WHEEL_GESTURE
        if self._settle is not None:  # a check waiting for the end of the pan: bring it forward
            self._cancel_settle()
            self._settle = self.doc.add_timeout_callback(self._ranges_settled, int(WHEEL_GESTURE * 1000))

    def _on_wheel(self, event: Event) -> None:
        self._gestures_seen = True
        self._gesture_until = time.monotonic() + WHEEL_GESTURE

    def _on_range_changed(self, axis: str, attr: str, old: object, new: object) -> None:
        # Clients that set range ends directly (bokeh.client, scripts) send one message per
        # property: render once all four have changed, or once changes stop arriving.
        # Browsers report their gestures, so their range changes only ever wait to settle.
        self._cancel_settle()
        self._changed_ends.add((axis, attr))
        if len(self._changed_ends) == 4 and not self._gestures_seen:
            self._ranges_settled()
        else:
            self._settle = self.doc.add_timeout_callback(self._ranges_settled, RANGE_SETTLE)

    def _cancel_settle(self) -> None:
        if self._settle is not None:
            try:
                self.doc.remove_timeout_callback(self._settle)
            except ValueError:  # it already ran
                pass
            self._settle = None

    def _ranges_settled(self) -> None:
        self._settle = None
        self._changed_ends.clear()
        gesture_left = self._gesture_until - time.monotonic()
        if gesture_left > 0:
            # A browser gesture is in progress and its RangesUpdate will normally follow;
            # look again when the gesture should be over, in case the change came from elsewhere.
            self._settle = self.doc.add_timeout_callback(self._ranges_settled, int(gesture_left * 1000) + 1)
            return
        self.request_ranges(self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)

    # -- results --------------------------------------------------------------------------------
    def _render_done(self, request: ViewRequest, future: Future[Rendered], superseded: bool) -> None:
        """Runs on a render thread: hand the result to the document's event loop."""
        if self.closed or superseded:
            return
        try:
            self.doc.add_next_tick_callback(partial(self._apply, request, future))
        except Exception:  # the session ended while rendering
            logger.debug("session gone before its image arrived", exc_info=True)

    def _apply(self, request: ViewRequest, future: Future[Rendered]) -> None:
        if self.closed:
            return
        error = future.exception()
        if error is not None:
            self.runner.forget_last()
            if isinstance(error, PipelineError):
                self._report(str(error))
            else:
                logger.error("render of %s failed", request, exc_info=error)
                self._report(f"rendering failed: {type(error).__name__}: {error}")
            return
        rendered = future.result()
        aggregate = rendered.aggregate
        viewport = aggregate.viewport
        in_view = int(aggregate.grid.sum(dtype="uint64")) if aggregate.reduction.name == "count" else None
        parts = [
            f"{in_view:,} rows in view" if in_view is not None else str(aggregate.reduction),
            f"{aggregate.rows_scanned:,} rows scanned",
            f"render {aggregate.seconds * 1e3:.1f} ms",
            "from cache" if rendered.from_cache else "computed",
        ]
        # Text first, image last: a client that sees the image also sees its status.
        self.status.text = " | ".join(parts)
        if not self._error_shown:  # keep an error about a later request visible
            self.message.text = ""
        self.colours.fit(aggregate.grid, counts=aggregate.reduction.name == "count")
        self.hover.tooltips = self._tooltips(aggregate.reduction)
        self.source.data = {
            "image": [aggregate.grid],
            "x": [viewport.x0],
            "y": [viewport.y0],
            "dw": [viewport.width],
            "dh": [viewport.height],
        }

    def _report(self, *problems: str) -> None:
        """Show ``problems`` to this session only, one a line, and log each."""
        session = self.doc.session_context.id if self.doc.session_context else "-"
        for problem in problems:
            logger.warning("session %s: %s", session, problem)
        self.message.text = "<br>".join(html.escape(problem) for problem in problems)
        self._error_shown = True

    # -- teardown -------------------------------------------------------------------------------
    def _on_session_destroyed(self, session_context: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop everything this session holds: queued renders, callbacks, its image."""
        self.closed = True
        self.runner.close()
        self.source.data = {"image": [], "x": [], "y": [], "dw": [], "dh": []}
        release_freed_memory()
