"""The per-session view: a loading page, then a plot whose image follows the plot's ranges.

Above the plot, the viewer chooses the reduction (aggregated again on the server) and the
colour map and normalisation (applied in the browser to the grid it holds, see ``mapper.py``);
hovering reads out a pixel's value and extent beside the cursor, from the grid in the page
(``readout.py``). The page's address carries the view and these choices (``choices.py``).
Beside the image, histograms show the rows in view per pixel column and row
(``histograms.py``); the box-select tool counts the rows in a box (``selection.py``); two
buttons download the image as a PNG and its grid as a ``.npy`` file (``export.py``). Count by
category is shaded on the server into an RGBA image, with a legend (``categories.py``). The
page spreads isolated points for display only (``spreading.py``).

Renders, counts and downloads run on worker threads; results come back through
``add_next_tick_callback``, the one thread-safe way into a Bokeh document. Per session, only
the newest requested view waits while a render runs.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from bokeh.document import Document
from bokeh.events import Event, RangesUpdate, SelectionGeometry
from bokeh.layouts import column, gridplot, row
from bokeh.models.annotations import ColorBar
from bokeh.models.callbacks import CustomJS
from bokeh.models.glyphs import Image, ImageRGBA
from bokeh.models.plots import GridPlot, Plot
from bokeh.models.ranges import Range1d
from bokeh.models.renderers import GlyphRenderer
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tools import BoxSelectTool
from bokeh.models.widgets import Button, Div, Select
from bokeh.plotting import figure
from bokeh.server.callbacks import PeriodicCallback, SessionCallback
from bokeh.server.contexts import BokehSessionContext

from pipeline import (
    Aggregate,
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
from pipeline.packing import PackedGrid, pack_grid
from pipeline.reduction import CATEGORY_REDUCTIONS

from .categories import CategoryImage, category_image, legend_html
from .choices import KEEP_IN_ADDRESS, choices_from_query, columns_for, needs_column, reduction_options
from .export import Download, download_source, grid_download, no_download, png_download, send
from .histograms import Histograms
from .mapper import COLORMAPS, NORMALIZATIONS, ImageColours
from .readout import PixelReadout
from .selection import ONE_PIXEL, box_viewport, selection_text
from .spreading import SPREADS, spread_in_the_page
from .wire import no_wire, unpack_in_the_page, wire_data

logger = logging.getLogger(__name__)

# ms without a wheel tick that end a gesture, when BokehJS reports its final ranges (and repaints
# the plot once more, which then lands before the new image, not just as it arrives); a trackpad's
# ticks come closer together, so its scroll stays one gesture
LOD_TIMEOUT = 20
RANGE_SETTLE = 50  # ms: range properties that change within this window are one request
LOADING_POLL = 200  # ms between progress updates on the loading page

COUNT = Reduction()

ViewRequest = tuple[Viewport, Canvas, Reduction]
Shading = CategoryImage | Exception | None  # what a render thread made of a count_by grid
T = TypeVar("T")


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
        self.selection = Div(name="selection", text="")
        # the grid travels packed in image_wire; the page unpacks it into image_source, which
        # the server leaves empty (see wire.py)
        self.wire = ColumnDataSource(name="image_wire", data=no_wire())
        self.source = ColumnDataSource(name="image_source", data=no_image(), syncable=False)
        self.rgba_source = ColumnDataSource(name="rgba_source", data=no_image())
        # what the glyphs draw: the exact images, isolated points spread in the page, which
        # fills these sources and never sends them back
        self.display = ColumnDataSource(name="display_source", data=no_image(), syncable=False)
        self.rgba_display = ColumnDataSource(name="rgba_display", data=no_image(), syncable=False)
        self.legend = Div(name="legend", text="", visible=False)
        self.reduction = Reduction()
        self.canvas: Canvas | None = None
        self.shown: Aggregate | None = None  # the aggregate of the image on screen
        self.box: Viewport | None = None  # the box whose count is awaited or shown
        self.downloads = download_source()
        # makes this session's downloads, one at a time; its thread starts at the first one
        self.exporter = ThreadPoolExecutor(1, thread_name_prefix="export")
        self.runner: LatestOnly[ViewRequest, Rendered] = LatestOnly(
            lambda request: self.store.submit(*request), self._render_done
        )
        self._poll: PeriodicCallback | None = None
        self._settle: SessionCallback | None = None
        # The page reports each view it shows with one RangesUpdate (every Bokeh tool sends
        # one when its gesture ends), so its range ends are not synced: a gesture would send
        # them with every frame. Clients that set the ends themselves (bokeh.client) still do.
        self.x_range = Range1d(syncable=False)
        self.y_range = Range1d(syncable=False)
        self.viewport: Viewport | None = None  # the view last requested
        self._changed_ends: set[tuple[str, str]] = set()
        self._ranges_changed_at = 0.0  # when the last message that changed a range end was applied
        self._stamp_pending = False
        self._error_shown = False
        self._adjusting_column = False

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
        categorical = store.dataset.categorical_columns
        choices, choice_problems = choices_from_query(arguments, numeric, categorical)
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
            min_border_right=70,  # room for the colour bar's labels, which BokehJS does not measure
            lod_timeout=LOD_TIMEOUT,
            x_axis_label=store.dataset.x,
            y_axis_label=store.dataset.y,
        )
        self.colours = ImageColours(self.doc, self.source, choices.colormap, choices.normalization)
        self.glyph = Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=self.colours.mapper)
        self.image_renderer = plot.add_glyph(self.display, self.glyph)
        self.rgba_renderer = plot.add_glyph(
            self.rgba_display, ImageRGBA(image="image", x="x", y="y", dw="dw", dh="dh"), visible=False
        )
        # Axes of a fixed depth: BokehJS lays the plots out again whenever an axis needs more
        # or less room, which tick labels that change width as the view changes would cause at
        # every frame of a gesture. So the y axis labels run along their axis: one line deep.
        plot.yaxis.major_label_orientation = "vertical"
        self.color_bar = ColorBar(color_mapper=self.colours.mapper, width=12)
        plot.add_layout(self.color_bar, "right")
        # both images' pixels read their values from the count or value grid of image_source
        names = self._readout_names(self.reduction)
        self.readout = PixelReadout(plot, self.source, self.image_renderer, names)
        plot.add_tools(BoxSelectTool(persistent=True))
        plot.on_event(SelectionGeometry, self._on_box_selected)
        self.histograms = Histograms(self.source, self.x_range, self.y_range, self.canvas)
        unpack_in_the_page(self.doc, self.wire, self.source, self.histograms)
        plot.on_event(RangesUpdate, self._on_ranges_update)
        for axis, axis_range in (("x", self.x_range), ("y", self.y_range)):
            for end in ("start", "end"):
                axis_range.on_change(end, partial(self._on_range_changed, axis))
        self.reduction_select = Select(
            name="reduction",
            title="Each pixel shows",
            value=choices.agg,
            options=select_options(reduction_options(numeric, categorical)),
        )
        self.column_select = Select(
            name="column",
            title="of column",
            value=choices.column,
            options=select_options(categorical if choices.column in categorical else numeric),
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
        self.spread_select = Select(
            name="spread",
            title="Spread points",
            value=choices.spread,
            options=select_options(SPREADS.items()),
        )
        spread_in_the_page(
            self.doc,
            (self.source, self.rgba_source),
            ("values", "rgba"),
            (self.display, self.rgba_display),
            self.spread_select,
        )
        selects = (
            self.reduction_select,
            self.column_select,
            self.colormap_select,
            self.normalization_select,
            self.spread_select,
        )
        png_button = Button(name="download_png", label="Download PNG", align="end")
        png_button.on_click(self._download_png)
        grid_button = Button(name="download_grid", label="Download grid (.npy)", align="end")
        grid_button.on_click(self._download_grid)
        # Three roots, laid out apart: BokehJS lays out a whole root again whenever one of its
        # parts changes size or text, and the status lines change with every image.
        self.doc.add_root(row(*selects, png_button, grid_button, name="controls"))
        self.doc.add_root(self._plots(plot))
        self.doc.add_root(column(self.legend, self.status, self.selection, self.message, name="details"))
        self.doc.add_root(self.downloads)
        self.doc.add_root(self.wire)
        keep_in_address = CustomJS(
            args={
                "x_range": self.x_range,
                "y_range": self.y_range,
                "reduction": self.reduction_select,
                "column": self.column_select,
                "colormap": self.colormap_select,
                "normalization": self.normalization_select,
                "spread": self.spread_select,
            },
            code=KEEP_IN_ADDRESS,
        )
        plot.js_on_event(RangesUpdate, keep_in_address)
        for select in selects:
            select.js_on_change("value", keep_in_address)
        self.request(start)
        if problems:
            self._report(*problems)

    def _plots(self, plot: Plot) -> GridPlot:
        """The image's plot with a histogram above and one to the right, their frames aligned,
        under one toolbar (the image plot's tools) so that nothing separates them."""
        toolbar = plot.toolbar
        plots = gridplot(
            [[self.histograms.above, None], [plot, self.histograms.right]],
            toolbar_location="above",
            # the histograms have no tools: keep the image plot's active ones
            toolbar_options={"active_drag": toolbar.active_drag, "active_scroll": toolbar.active_scroll},
        )
        plots.name = "plots"
        return plots

    def _readout_names(self, reduction: Reduction) -> list[str]:
        """The read-out's names: of the pixel's value (``reduction``), and of the x and y columns."""
        dataset = self.store.dataset
        label = "rows, all categories" if reduction.name in CATEGORY_REDUCTIONS else str(reduction)
        return [label, dataset.x, dataset.y]

    def _on_reduction_changed(self, attr: str, old: object, new: object) -> None:
        if self._adjusting_column:
            return
        name = self.reduction_select.value
        self._offer_columns_of(name)
        column = self.column_select.value if needs_column(name) else None
        try:
            reduction = Reduction(name, column)
            reduction.validate(self.store.dataset.frame.dtypes)
        except PipelineError as err:
            self._report(str(err))
            return
        self.reduction = reduction
        if self.viewport is not None:
            self.request(self.viewport)

    def _offer_columns_of(self, name: str) -> None:
        """Offer the columns that the reduction ``name`` reads: categorical ones for
        ``count_by``, numeric ones for the others (``count`` keeps the last choice)."""
        if not needs_column(name):
            return
        dataset = self.store.dataset
        columns = columns_for(name, dataset.numeric_columns, dataset.categorical_columns)
        if self.column_select.value in columns:
            return
        self._adjusting_column = True
        try:
            self.column_select.options = select_options(columns)
            self.column_select.value = columns[0] if columns else None
        finally:
            self._adjusting_column = False

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
        self.viewport = viewport
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
        # The page's report of the view it shows: one event per finished gesture.
        assert isinstance(event, RangesUpdate)
        self.request_ranges(event.x0, event.x1, event.y0, event.y1)

    def _on_range_changed(self, axis: str, attr: str, old: object, new: object) -> None:
        # Clients that set range ends directly (bokeh.client, scripts) send one message per
        # property: render once all four have changed, or once changes stop arriving. Each
        # change only notes itself; one pending check looks again until the changes stop.
        self._changed_ends.add((axis, attr))
        if len(self._changed_ends) == 4:
            self._cancel_settle()
            self._ranges_settled()
        elif not self._stamp_pending:
            # The window opens once this message is applied: applying one takes the server
            # longer than the window for a large document, and the next change may be waiting.
            self._stamp_pending = True
            self.doc.add_next_tick_callback(self._stamp_range_change)

    def _stamp_range_change(self) -> None:
        self._stamp_pending = False
        self._ranges_changed_at = time.monotonic()
        # nothing left to check when the fourth end came with the same message
        if self._settle is None and self._changed_ends:
            self._settle = self.doc.add_timeout_callback(self._ranges_settled, RANGE_SETTLE)

    def _cancel_settle(self) -> None:
        if self._settle is not None:
            try:
                self.doc.callbacks.remove_session_callback(self._settle)
            except ValueError:  # it already ran
                pass
            self._settle = None

    def _ranges_settled(self) -> None:
        self._settle = None
        wait = self._ranges_changed_at + RANGE_SETTLE / 1000 - time.monotonic()
        if wait > 0 and len(self._changed_ends) < 4:  # changes may still be arriving
            self._settle = self.doc.add_timeout_callback(self._ranges_settled, int(wait * 1000) + 1)
            return
        self._changed_ends.clear()
        self.request_ranges(self.x_range.start, self.x_range.end, self.y_range.start, self.y_range.end)

    # -- results --------------------------------------------------------------------------------
    def _next_tick(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the document's event loop; callable from any thread."""
        if self.closed:
            return
        try:
            self.doc.add_next_tick_callback(callback)
        except Exception:  # the session ended meanwhile
            logger.debug("session gone before a result arrived", exc_info=True)

    def _when_done(self, future: Future[T], apply: Callable[[Future[T]], None]) -> None:
        """Run ``apply(future)`` on the document's event loop once ``future`` is done."""
        future.add_done_callback(lambda done: self._next_tick(partial(apply, done)))

    def _failed(self, future: Future[Any], what: str, subject: object) -> bool:
        """Report the error of a done ``future``, if it has one, to this session."""
        error = future.exception()
        if error is None:
            return False
        if isinstance(error, PipelineError):
            self._report(str(error))
        else:
            logger.error("%s of %s failed", what, subject, exc_info=error)
            self._report(f"{what} failed: {type(error).__name__}: {error}")
        return True

    def _render_done(self, request: ViewRequest, future: Future[Rendered], superseded: bool) -> None:
        """Runs on a render thread: shade a count_by grid, then hand the result to the
        document's event loop."""
        if not superseded:
            shading = self._shade(future)
            self._next_tick(partial(self._apply, request, future, shading, self._packed(future, shading)))

    def _shade(self, future: Future[Rendered]) -> Shading:
        """The page's image of a rendered ``count_by`` grid; None for other reductions."""
        if future.exception() is not None:
            return None
        aggregate = future.result().aggregate
        reduction = aggregate.reduction
        if reduction.name not in CATEGORY_REDUCTIONS or reduction.column is None:
            return None
        try:
            return category_image(aggregate.grid, self.store.dataset.categories(reduction.column))
        except Exception as err:  # reported to this session by _apply
            logger.error("shading %s failed", reduction, exc_info=err)
            return err

    @staticmethod
    def _packed(future: Future[Rendered], shading: Shading) -> PackedGrid | None:
        """The grid that goes to the page, packed (runs on a render thread): a count_by
        image's totals, else the aggregate's own packing, which every viewer of it shares."""
        if future.exception() is not None or isinstance(shading, Exception):
            return None
        if shading is not None:
            return pack_grid(shading.totals)
        return future.result().aggregate.packed

    def _apply(
        self,
        request: ViewRequest,
        future: Future[Rendered],
        shading: Shading = None,
        packed: PackedGrid | None = None,
    ) -> None:
        if self.closed:
            return
        if self._failed(future, "rendering", request):
            self.runner.forget_last()
            return
        if isinstance(shading, Exception):
            self.runner.forget_last()
            self._report(f"shading failed: {type(shading).__name__}: {shading}")
            return
        rendered = future.result()
        aggregate = rendered.aggregate
        viewport = aggregate.viewport
        # the grid the page colours, reads out and sums: a count_by image's total per pixel
        grid = aggregate.grid if shading is None else shading.totals
        counts = aggregate.reduction == COUNT or shading is not None
        in_view = int(grid.sum(dtype="uint64")) if counts else None
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
        self.colours.fit(grid, counts=counts)
        self.readout.names = self._readout_names(aggregate.reduction)
        self.shown = aggregate
        self._show_categories(shading, viewport)
        # a count grid's histograms are its sums, which the page makes from the grid itself
        self.wire.data = wire_data(packed if packed is not None else pack_grid(grid), viewport, counts=counts)
        if not counts:  # after the image: the page places the bars from where the image lies
            self._count(viewport, aggregate.canvas, self._show_histograms)

    def _show_categories(self, shading: CategoryImage | None, viewport: Viewport) -> None:
        """Show the RGBA image and legend of a count_by grid, or the colour-mapped image."""
        categories = shading is not None
        if shading is not None:
            self.rgba_source.data = image_data(shading.rgba, viewport)
            self.legend.text = legend_html(shading)
        elif self.rgba_source.data["image"]:
            self.rgba_source.data = no_image()
        renderer: GlyphRenderer[Any] = self.rgba_renderer if categories else self.image_renderer
        self.readout.read(renderer)
        for model, visible in (
            (self.rgba_renderer, categories),
            (self.legend, categories),
            (self.image_renderer, not categories),
            (self.color_bar, not categories),
        ):
            if model.visible != visible:
                model.visible = visible
        for select in (self.colormap_select, self.normalization_select):
            if select.disabled != categories:  # they colour numbers, not categories
                select.disabled = categories

    def _count(self, viewport: Viewport, canvas: Canvas, apply: Callable[[Future[Rendered]], None]) -> None:
        """Render the count grid of ``viewport`` on the store's threads, then ``apply`` it."""
        try:
            future = self.store.submit(viewport, canvas, COUNT)
        except PipelineError as err:  # the server is shutting down
            self._report(str(err))
            return
        self._when_done(future, apply)

    def _show_histograms(self, future: Future[Rendered]) -> None:
        """Show the histograms of a count grid fetched for an image of another reduction."""
        if self.closed or self._failed(future, "counting", "the histograms"):
            return
        counted = future.result().aggregate
        if self.shown is not None and counted.viewport == self.shown.viewport:  # not a later image's
            self.histograms.show(counted.grid)

    # -- box selection ----------------------------------------------------------------------------
    def _on_box_selected(self, event: Event) -> None:
        assert isinstance(event, SelectionGeometry)
        if not event.final:
            return
        try:
            box = box_viewport(event.geometry or {})
        except PipelineError as err:
            self.box = None  # a count still on its way is no longer wanted
            self.selection.text = html.escape(str(err))
            return
        self.box = box
        self.selection.text = "counting the rows in the box..."
        self._count(box, ONE_PIXEL, self._show_box_count)

    def _show_box_count(self, future: Future[Rendered]) -> None:
        if self.closed or self._failed(future, "counting", "the selected box"):
            return
        counted = future.result().aggregate
        if counted.viewport != self.box:  # a later box was selected meanwhile
            return
        min_count = self.store.settings.min_count if self.store.settings else 0
        self.selection.text = selection_text(int(counted.grid.sum()), counted.viewport, min_count)

    # -- downloads ----------------------------------------------------------------------------------
    def _download_png(self) -> None:
        self._download(
            partial(png_download, colormap=self.colours.colormap, normalization=self.colours.normalization)
        )

    def _download_grid(self) -> None:
        self._download(grid_download)

    def _download(self, make: Callable[[Aggregate], Download]) -> None:
        """Make a file of the image on screen on the export thread, then hand it to the page."""
        if self.shown is None:
            self._report("there is no image to download yet")
            return
        self._when_done(self.exporter.submit(make, self.shown), self._deliver)

    def _deliver(self, future: Future[Download]) -> None:
        if self.closed or self._failed(future, "the download", "the image"):
            return
        send(self.downloads, future.result())

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
        """Drop everything this session holds: queued renders and exports, its image, a download."""
        self.closed = True
        self.runner.close()
        self.exporter.shutdown(wait=False, cancel_futures=True)
        self.shown = None
        self.wire.data = no_wire()
        self.rgba_source.data = no_image()
        self.downloads.data = no_download()
        release_freed_memory()


def no_image() -> dict[str, list[Any]]:
    """The data of an image source that shows nothing."""
    return {"image": [], "x": [], "y": [], "dw": [], "dh": []}


def image_data(grid: Any, viewport: Viewport) -> dict[str, list[Any]]:
    """The data of an image source that shows ``grid`` over ``viewport``."""
    return {
        "image": [grid],
        "x": [viewport.x0],
        "y": [viewport.y0],
        "dw": [viewport.width],
        "dh": [viewport.height],
    }
