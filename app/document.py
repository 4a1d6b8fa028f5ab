"""The plot page of one session, built top-down: :func:`build_plot_page` returns the models it made.

Above the plot, the controls: the reduction and its column (aggregated again on the server), the
colour map and scale (applied in the browser, ``mapper.py``), spreading (``spreading.py``) and
the downloads (``export.py``). Beside the image, the histograms (``histograms.py``); on it, the
pixel read-out (``readout.py``) and the box-select tool. Under it, the legend of a count by
category, the status line, the box count and messages. The page's scripts that need no server
(unpacking, spreading, the address) are wired here; the session wires the rest.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bokeh.document import Document
from bokeh.events import RangesUpdate
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

from pipeline import MAX_CANVAS_PIXELS, Canvas, Viewport

from .address import Choices, keep_in_address
from .export import download_source
from .histograms import Histograms
from .mapper import COLORMAPS, NORMALIZATIONS, ImageColours, compact_ticks
from .readout import PixelReadout
from .scripts import custom_js
from .spreading import SPREADS, spread_in_the_page
from .wire import no_wire, unpack_in_the_page

# ms without a wheel tick that end a gesture, when BokehJS reports its final ranges (and repaints
# the plot once more, which then lands before the new image, not just as it arrives); a trackpad's
# ticks come closer together, so its scroll stays one gesture
LOD_TIMEOUT = 20
RESIZE_SETTLE = 250  # ms without a resize event before the page reports its new size


@dataclass(frozen=True, eq=False)
class TableFacts:
    """What the page says about the table: its axes' columns and the reductions it offers."""

    name: str  # the file's name, or "synthetic"
    rows: int
    x: str
    y: str
    reductions: list[str | tuple[str, str]]  # the reduction Select's options
    columns: list[str]  # the column Select's options for the first choice
    readout_names: list[str]  # the hover's names: the value's, x's and y's


@dataclass(frozen=True, eq=False)
class PlotPage:
    """The models of one session's plot page, as the session updates them."""

    x_range: Range1d
    y_range: Range1d
    plot: Plot
    plots: GridPlot  # the image's plot and its histograms
    screen: ColumnDataSource  # the plot frame's size in device pixels, as the page reports it
    wire: ColumnDataSource  # the packed grid, synced; the page unpacks it into ``source``
    source: ColumnDataSource  # the exact grid in the page (never synced)
    rgba_source: ColumnDataSource  # a count by category's shaded image
    colours: ImageColours
    glyph: Image
    image_renderer: GlyphRenderer[Any]
    rgba_renderer: GlyphRenderer[Any]
    color_bar: ColorBar
    readout: PixelReadout
    histograms: Histograms
    reduction: Select
    column: Select
    colormap: Select
    normalization: Select
    spread: Select
    png_button: Button
    grid_button: Button
    downloads: ColumnDataSource
    title: Div
    legend: Div
    status: Div
    selection: Div
    message: Div


def select_options(values: Iterable[str | tuple[str, str]]) -> list[str | tuple[Any, str]]:
    """A Select's options: each a value, or a value and its label."""
    return list(values)


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


def view_ranges(start: Viewport, home: Viewport) -> tuple[Range1d, Range1d]:
    """The plot's ranges, showing ``start``; reset returns to ``home``, the whole data.

    The page reports each view it shows with one RangesUpdate (every Bokeh tool sends one when
    its gesture ends), so its range ends are not synced: a gesture would send them with every
    frame. Clients that set the ends themselves (bokeh.client) still do.
    """
    x_range = Range1d(start=start.x0, end=start.x1, reset_start=home.x0, reset_end=home.x1, syncable=False)
    y_range = Range1d(start=start.y0, end=start.y1, reset_start=home.y0, reset_end=home.y1, syncable=False)
    return x_range, y_range


def title_html(table: TableFacts) -> str:
    """The line above the controls: which table, how many rows, which columns are x and y."""
    return (
        f"<b>{html.escape(table.name)}</b> &middot; {table.rows:,} {'row' if table.rows == 1 else 'rows'}"
        f" &middot; x: {html.escape(table.x)}, y: {html.escape(table.y)}"
    )


def fit_to_window(plot: Plot, plots: GridPlot, histograms: Histograms, screen: ColumnDataSource) -> CustomJS:
    """The page's callback that sizes the plot to the window and reports its device pixels."""
    return custom_js(
        "fit_window",
        {
            "plot": plot,
            "plots": plots,
            "above": histograms.above,
            "right": histograms.right,
            "screen": screen,
            "max_pixels": MAX_CANVAS_PIXELS,
            "settle_ms": RESIZE_SETTLE,
        },
    )


def _image_plot(x_range: Range1d, y_range: Range1d, canvas: Canvas, table: TableFacts) -> figure:
    plot = figure(
        name="main_plot",
        x_range=x_range,
        y_range=y_range,
        frame_width=canvas.width,
        frame_height=canvas.height,
        tools="pan,wheel_zoom,box_zoom,reset",
        active_scroll="wheel_zoom",
        active_drag="pan",
        min_border_right=70,  # room for the colour bar's labels, which BokehJS does not measure
        lod_timeout=LOD_TIMEOUT,
        x_axis_label=table.x,
        y_axis_label=table.y,
    )
    # Axes of a fixed depth: BokehJS lays the plots out again whenever an axis needs more
    # or less room, which tick labels that change width as the view changes would cause at
    # every frame of a gesture. So the y axis labels run along their axis: one line deep.
    plot.yaxis.major_label_orientation = "vertical"
    plot.add_tools(BoxSelectTool(persistent=True))
    return plot


def _choice_selects(choices: Choices, table: TableFacts) -> dict[str, Select]:
    """The Selects above the plot, by name (the address's controls)."""
    return {
        "reduction": Select(
            name="reduction",
            title="Each pixel shows",
            value=choices.agg,
            options=select_options(table.reductions),
        ),
        "column": Select(
            name="column", title="of column", value=choices.column, options=select_options(table.columns)
        ),
        "colormap": Select(
            name="colormap", title="Colour map", value=choices.colormap, options=select_options(COLORMAPS)
        ),
        "normalization": Select(
            name="normalization",
            title="Colour scale",
            value=choices.normalization,
            options=select_options(NORMALIZATIONS.items()),
        ),
        "spread": Select(
            name="spread",
            title="Spread points",
            value=choices.spread,
            options=select_options(SPREADS.items()),
        ),
    }


def _plots(plot: Plot, histograms: Histograms) -> GridPlot:
    """The image's plot with a histogram above and one to the right, their frames aligned,
    under one toolbar (the image plot's tools) so that nothing separates them."""
    toolbar = plot.toolbar
    plots = gridplot(
        [[histograms.above, None], [plot, histograms.right]],
        toolbar_location="above",
        # the histograms have no tools: keep the image plot's active ones
        toolbar_options={"active_drag": toolbar.active_drag, "active_scroll": toolbar.active_scroll},
    )
    plots.name = "plots"
    return plots


def build_plot_page(
    doc: Document, canvas: Canvas, start: Viewport, home: Viewport, choices: Choices, table: TableFacts
) -> PlotPage:
    """The plot page's models, showing ``start`` with ``choices``, for :func:`lay_out` to add to ``doc``."""
    x_range, y_range = view_ranges(start, home)
    plot = _image_plot(x_range, y_range, canvas, table)
    wire = ColumnDataSource(name="image_wire", data=no_wire())
    source = ColumnDataSource(name="image_source", data=no_image(), syncable=False)
    rgba_source = ColumnDataSource(name="rgba_source", data=no_image())
    # what the glyphs draw: the exact images, isolated points spread in the page, which fills
    # these sources and never sends them back
    display = ColumnDataSource(name="display_source", data=no_image(), syncable=False)
    rgba_display = ColumnDataSource(name="rgba_display", data=no_image(), syncable=False)
    colours = ImageColours(doc, source, choices.colormap, choices.normalization)
    glyph = Image(image="image", x="x", y="y", dw="dw", dh="dh", color_mapper=colours.mapper)
    image_renderer = plot.add_glyph(display, glyph)
    rgba_renderer = plot.add_glyph(
        rgba_display, ImageRGBA(image="image", x="x", y="y", dw="dw", dh="dh"), visible=False
    )
    color_bar = ColorBar(
        color_mapper=colours.mapper, width=12, formatter=compact_ticks(source)
    )
    plot.add_layout(color_bar, "right")
    # both images' pixels read their values from the count or value grid of image_source
    readout = PixelReadout(plot, source, image_renderer, table.readout_names)
    histograms = Histograms(source, x_range, y_range, canvas)
    unpack_in_the_page(doc, wire, source, histograms)
    selects = _choice_selects(choices, table)
    spread_in_the_page(
        doc, (source, rgba_source), ("values", "rgba"), (display, rgba_display), selects["spread"]
    )
    plots = _plots(plot, histograms)
    screen = ColumnDataSource(name="screen", data={"width": [canvas.width], "height": [canvas.height]})
    fit = fit_to_window(plot, plots, histograms, screen)
    doc.js_on_event("document_ready", fit)
    plot.js_on_change("inner_width", fit)
    selects["column"].disabled = not choices.reduction.kind.needs_column
    page = PlotPage(
        x_range=x_range,
        y_range=y_range,
        plot=plot,
        plots=plots,
        screen=screen,
        wire=wire,
        source=source,
        rgba_source=rgba_source,
        colours=colours,
        glyph=glyph,
        image_renderer=image_renderer,
        rgba_renderer=rgba_renderer,
        color_bar=color_bar,
        readout=readout,
        histograms=histograms,
        **selects,
        png_button=Button(name="download_png", label="Download PNG", align="end"),
        grid_button=Button(name="download_grid", label="Download grid (.npy)", align="end"),
        downloads=download_source(),
        title=Div(name="title", text=title_html(table)),
        legend=Div(name="legend", text="", visible=False),
        status=Div(name="status", text=""),
        selection=Div(name="selection", text=""),
        message=Div(name="message", text="", styles={"color": "#b00020"}),
    )
    address = keep_in_address(x_range, y_range, selects)
    plot.js_on_event(RangesUpdate, address)
    for select in selects.values():
        select.js_on_change("value", address)
    return page


def lay_out(doc: Document, page: PlotPage) -> None:
    """Add ``page``'s models to ``doc``, once the session has wired them: Bokeh subscribes a
    model to the events it has callbacks for as the model joins a document."""
    # Separate roots: BokehJS lays out a whole root again whenever one of its parts changes
    # size or text, and the status lines change with every image.
    selects = (page.reduction, page.column, page.colormap, page.normalization, page.spread)
    doc.add_root(page.title)
    doc.add_root(row(*selects, page.png_button, page.grid_button, name="controls"))
    doc.add_root(page.plots)
    doc.add_root(column(page.legend, page.status, page.selection, page.message, name="details"))
    doc.add_root(page.downloads)
    doc.add_root(page.wire)
    doc.add_root(page.screen)
