"""One viewer's session: a loading page, then a plot whose image follows the plot's ranges.

The session shows its page (:mod:`app.pages`, then :mod:`app.document`), requests the image of
each view (gathered by :mod:`app.debounce` for clients that set range ends one by one), applies
each result that a render thread prepared (:mod:`app.results`), reports problems to this viewer
only, and on close releases everything it holds. Per session, only the newest requested view
waits while a render runs (:mod:`app.latest`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from bokeh.document import Document
from bokeh.events import Event, RangesUpdate
from bokeh.server.contexts import BokehSessionContext

from pipeline import (
    Aggregate,
    Canvas,
    CanvasError,
    ColumnKind,
    LoadState,
    PipelineError,
    Reduction,
    Rendered,
    Viewport,
    get_store,
    release_freed_memory,
)

from .address import choices_from_query, reduction_options, viewport_from_query
from .categories import legend_html
from .controls import ImageControls
from .debounce import RangeDebouncer
from .document import PlotPage, TableFacts, build_plot_page, image_data, lay_out, no_image
from .export import Download, grid_download, no_download, png_download, send
from .latest import LatestOnly
from .pages import LoadingPage, failure_page
from .results import ImageUpdate, image_update
from .selection import BoxCounter
from .tasks import SessionTasks
from .wire import no_wire, wire_data

logger = logging.getLogger(__name__)

ViewRequest = tuple[Viewport, Canvas, Reduction]
Prepared = ImageUpdate | Exception  # what a render thread made of a result, or why it could not


def address_arguments(doc: Document) -> dict[str, str]:
    """The query arguments of the page's address (the last value of each)."""
    context = doc.session_context
    request = context.request if isinstance(context, BokehSessionContext) else None
    if request is None:
        return {}
    return {key: values[-1].decode("utf-8", "replace") for key, values in request.arguments.items()}


def screen_canvas(data: object) -> Canvas:
    """The canvas of a screen source's data (``width`` and ``height``, device pixels)."""
    try:
        width, height = (data[key][0] for key in ("width", "height"))  # type: ignore[index]
    except (TypeError, KeyError, IndexError):
        raise CanvasError(
            f"the page reported its plot's size as {data!r}; expected width and height"
        ) from None
    return Canvas(width, height)


class Session:
    """Everything one session holds; :meth:`close` releases all of it."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.store = get_store()
        self.page: PlotPage | None = None
        self.canvas: Canvas | None = None
        self.reduction = Reduction()
        self.viewport: Viewport | None = None  # the view last requested
        self.shown: Aggregate | None = None  # the aggregate of the image on screen
        self.tasks = SessionTasks(doc, self._report)
        # makes this session's downloads, one at a time; its thread starts at the first one
        self.exporter = ThreadPoolExecutor(1, thread_name_prefix="export")
        self.runner: LatestOnly[ViewRequest, Rendered] = LatestOnly(
            lambda request: self.store.submit(*request), self._render_done
        )
        self._error_shown = False

    def show(self) -> None:
        """Fill the document: the plot if the data is ready, else a progress page."""
        self.doc.title = "Shared frame explorer"
        self.doc.on_session_destroyed(lambda context: self.close())
        state = self.store.status().state
        if state is LoadState.LOADING or state is LoadState.IDLE:
            LoadingPage(self.doc, self.store, self._loaded)
        else:
            self._loaded(state)

    def _loaded(self, state: LoadState) -> None:
        if state is LoadState.READY:
            self._show_plot()
        else:
            self.doc.add_root(failure_page(self.store.status()))

    def _show_plot(self) -> None:
        dataset = self.store.dataset
        self.canvas = self.store.canvas
        home = self.store.home_viewport()
        arguments = address_arguments(self.doc)
        problems: list[str] = []
        try:
            start = viewport_from_query(arguments) or home
        except PipelineError as err:
            start, problems = home, [f"{err}; showing the whole data instead"]
        columns = {kind: dataset.columns_of(kind) for kind in (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL)}
        choices, choice_problems = choices_from_query(arguments, columns)
        self.reduction = choices.reduction
        settings = self.store.settings
        table = TableFacts(
            name=settings.source.name
            if settings is not None and settings.source is not None
            else "synthetic",
            rows=dataset.rows,
            x=dataset.x,
            y=dataset.y,
            reductions=reduction_options(columns),
            columns=columns[ColumnKind.CATEGORICAL]
            if choices.column in columns[ColumnKind.CATEGORICAL]
            else columns[ColumnKind.NUMERIC],
            readout_names=self._readout_names(self.reduction),
        )
        page = build_plot_page(self.doc, self.canvas, start, home, choices, table)
        self.page = page
        ImageControls(page, dataset, self._choose, self._report)
        BoxCounter(page.plot, page.selection, self.store, self.tasks)
        RangeDebouncer(self.doc, page.x_range, page.y_range, self.request_ranges)
        page.plot.on_event(RangesUpdate, self._on_ranges_update)
        page.screen.on_change("data", self._on_screen_changed)
        page.png_button.on_click(self._download_png)
        page.grid_button.on_click(lambda: self._download(grid_download))
        lay_out(self.doc, page)
        self.request(start)
        if problems + choice_problems:
            self._report(*problems, *choice_problems)

    def _readout_names(self, reduction: Reduction) -> list[str]:
        """The read-out's names: of the pixel's value (``reduction``), and of the x and y columns."""
        dataset = self.store.dataset
        return [reduction.kind.read_out_as or str(reduction), dataset.x, dataset.y]

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

    def _on_screen_changed(self, attr: str, old: object, new: object) -> None:
        # The page's plot frame in device pixels: aggregate at that size from now on.
        try:
            canvas = screen_canvas(new)
        except PipelineError as err:
            self._report(str(err))
            return
        self.canvas = canvas
        if self.viewport is not None:
            # the same view, sharper: a problem reported about it still stands
            self.runner.request((self.viewport, canvas, self.reduction))

    def _choose(self, reduction: Reduction) -> None:
        self.reduction = reduction
        if self.viewport is not None:
            self.request(self.viewport)

    # -- results --------------------------------------------------------------------------------
    def _render_done(self, request: ViewRequest, future: Future[Rendered], superseded: bool) -> None:
        """Runs on a render thread: prepare the result for the page, then hand it to the
        document's event loop."""
        if superseded:
            return
        prepared: Prepared | None = None
        if future.exception() is None:
            try:
                prepared = image_update(future.result(), self.store.dataset.categories)
            except Exception as err:  # reported to this session by _apply
                prepared = err
        self.tasks.next_tick(partial(self._apply, request, future, prepared))

    def _apply(self, request: ViewRequest, future: Future[Rendered], prepared: Prepared | None) -> None:
        if self.tasks.closed or self.page is None:
            return
        if self.tasks.failed(future, "rendering", request):
            self.runner.forget_last()
            return
        if isinstance(prepared, Exception):
            self.runner.forget_last()
            self.tasks.report_error(prepared, "preparing the image", request)
            return
        assert prepared is not None  # prepared whenever the render succeeded
        page, aggregate = self.page, prepared.aggregate
        # Text first, image last: a client that sees the image also sees its status.
        page.status.text = prepared.status
        if not self._error_shown:  # keep an error about a later request visible
            page.message.text = ""
        page.colours.fit(prepared.grid, counts=prepared.counts)
        page.readout.names = self._readout_names(aggregate.reduction)
        self.shown = aggregate
        self._show_categories(prepared)
        # a count grid's histograms are its sums, which the page makes from the grid itself
        page.wire.data = wire_data(prepared.packed, aggregate.viewport, counts=prepared.counts)
        if not prepared.counts:  # after the image: the page places the bars from where the image lies
            self._count_histograms(aggregate)

    def _show_categories(self, prepared: ImageUpdate) -> None:
        """Show the RGBA image and legend of a count_by grid, or the colour-mapped image."""
        assert self.page is not None
        page, shading = self.page, prepared.shading
        categories = shading is not None
        if shading is not None:
            page.rgba_source.data = image_data(shading.rgba, prepared.aggregate.viewport)
            page.legend.text = legend_html(shading)
        elif page.rgba_source.data["image"]:
            page.rgba_source.data = no_image()
        page.readout.read(page.rgba_renderer if categories else page.image_renderer)
        for model, visible in (
            (page.rgba_renderer, categories),
            (page.legend, categories),
            (page.image_renderer, not categories),
            (page.color_bar, not categories),
        ):
            if model.visible != visible:
                model.visible = visible
        for select in (page.colormap, page.normalization):
            if select.disabled != categories:  # they colour numbers, not categories
                select.disabled = categories

    def _count_histograms(self, shown: Aggregate) -> None:
        """Fetch the count grid of an image of another reduction, for its histograms."""
        try:
            future = self.store.submit(shown.viewport, shown.canvas, Reduction())
        except PipelineError as err:  # the server is shutting down
            self._report(str(err))
            return
        self.tasks.when_done(future, self._show_histograms)

    def _show_histograms(self, future: Future[Rendered]) -> None:
        if self.page is None or self.tasks.failed(future, "counting", "the histograms"):
            return
        counted = future.result().aggregate
        if self.shown is not None and counted.viewport == self.shown.viewport:  # not a later image's
            self.page.histograms.show(counted.grid)

    # -- downloads ----------------------------------------------------------------------------------
    def _download_png(self) -> None:
        assert self.page is not None
        colours = self.page.colours
        self._download(partial(png_download, colormap=colours.colormap, normalization=colours.normalization))

    def _download(self, make: Callable[[Aggregate], Download]) -> None:
        """Make a file of the image on screen on the export thread, then hand it to the page."""
        if self.shown is None:
            self._report("there is no image to download yet")
            return
        self.tasks.when_done(self.exporter.submit(make, self.shown), self._deliver)

    def _deliver(self, future: Future[Download]) -> None:
        if self.page is not None and not self.tasks.failed(future, "the download", "the image"):
            send(self.page.downloads, future.result())

    # -- problems and teardown ------------------------------------------------------------------------
    def _report(self, *problems: str) -> None:
        """Show ``problems`` to this session only, one a line, and log each."""
        session = self.doc.session_context.id if self.doc.session_context else "-"
        for problem in problems:
            logger.warning("session %s: %s", session, problem)
        if self.page is not None:
            self.page.message.text = "<br>".join(html.escape(problem) for problem in problems)
        self._error_shown = True

    def close(self) -> None:
        """Drop everything this session holds: queued renders and exports, its image, a download."""
        self.tasks.close()
        self.runner.close()
        self.exporter.shutdown(wait=False, cancel_futures=True)
        self.shown = None
        if self.page is not None:
            self.page.wire.data = no_wire()
            self.page.rgba_source.data = no_image()
            self.page.downloads.data = no_download()
        release_freed_memory()
