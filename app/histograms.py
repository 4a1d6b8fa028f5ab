"""Linked 1-D histograms: rows in view per pixel column (above the plot) and per pixel row (right).

Both come from the count grid of the image: Datashader bins each row in view into exactly one
pixel, so the grid's column sums and row sums are exactly the numbers of rows in view per pixel
column and per pixel row (with ``--min-count``, in the pixels the image shows). Only those sums
go to the browser, with the pixel numbers; the page places the bars' edges from where the image
lies (``js/histogram_edges.js``), so the bars line up with the image's pixels and no other
coordinate leaves the server. Each histogram is one step area, filled at once. The plots share
the main plot's x and y ranges, so they pan and zoom with it until the next image brings new
sums.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from bokeh.models.axes import LinearAxis
from bokeh.models.formatters import BasicTickFormatter
from bokeh.models.glyphs import HAreaStep, VAreaStep
from bokeh.models.labeling import NoOverlap
from bokeh.models.plots import Plot
from bokeh.models.ranges import Range1d
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tickers import BasicTicker
from bokeh.models.transforms import CustomJSTransform
from bokeh.transform import transform

from pipeline import Canvas, compact_grid

from .scripts import custom_js_transform

HISTOGRAM_SIZE = 110  # px: the height of the plot above, the width of the plot to the right
BAR_COLOUR = "#6b6b6b"


def pixel_sums(counts: npt.NDArray[np.generic]) -> tuple[npt.NDArray[np.generic], npt.NDArray[np.generic]]:
    """Rows per pixel column and per pixel row of a count grid (``counts[0]`` is the bottom row).

    Each in the smallest unsigned dtype that holds it, as images are sent.
    """
    per_column = compact_grid(counts.sum(axis=0, dtype=np.uint64))
    per_row = compact_grid(counts.sum(axis=1, dtype=np.uint64))
    return per_column, per_row


def closed(sums: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """A histogram's heights as its step area takes them: the rows per pixel, then a zero at the
    far edge of the last pixel, where the area closes."""
    return np.append(sums, sums.dtype.type(0))


def _edges(image_source: ColumnDataSource, axis: str) -> CustomJSTransform:
    return custom_js_transform("histogram_edges", {"source": image_source, "axis": axis})


def _source(name: str, pixels: int) -> ColumnDataSource:
    # A step area, one fill for all the bars (a bar each would be a fill each, every frame of a
    # gesture): point i is the near edge of pixel i, and point ``pixels`` the far edge of the last.
    # Lists, not arrays: the page gets them in the document's JSON, and each later update from
    # the server (the ``rows`` column alone) is one array in one message. The page fills them
    # itself for count grids, and never sends them back.
    return ColumnDataSource(
        name=name, data={"pixel": list(range(pixels + 1)), "rows": [0] * (pixels + 1)}, syncable=False
    )


def _rows_axis(labels: Literal["horizontal", "vertical"]) -> LinearAxis:
    """An axis of rows in view, with ``labels`` so oriented: as long as the histogram is narrow,
    so a few ticks, and a label that would not fit is left out."""
    axis = LinearAxis(
        axis_label="rows",
        major_label_orientation=labels,
        ticker=BasicTicker(desired_num_ticks=3, min_interval=1),  # rows are whole numbers
        major_label_policy=NoOverlap(),
    )
    # Whole numbers, never in scientific notation. Not "200K": BokehJS measures a label with a
    # letter 4 px deeper than one of digits alone, so the histograms were laid out again whenever
    # a suffix came or went, as a zoom crosses a thousand rows per pixel.
    axis.update(formatter=BasicTickFormatter(use_scientific=False))  # (typed too narrowly)
    return axis


def _plot(name: str, x_range: Range1d, y_range: Range1d, width: int, height: int) -> Plot:
    # A bare Plot with one axis and one glyph: every message from the page makes the server walk
    # the whole document, so each session's document is kept to the models it shows.
    return Plot(
        name=name,
        x_range=x_range,
        y_range=y_range,
        frame_width=width,
        frame_height=height,
        title=None,
        toolbar_location=None,
        outline_line_color=None,
    )


class Histograms:
    """The two histogram plots of one session and their data sources."""

    def __init__(
        self, image_source: ColumnDataSource, x_range: Range1d, y_range: Range1d, canvas: Canvas
    ) -> None:
        self.x_source = _source("x_histogram_source", canvas.width)
        self.y_source = _source("y_histogram_source", canvas.height)
        # The rows axes run from 0 to the highest bar, set with each image's sums (by the page
        # for count grids; not synced back, or each would come back to the server as a message).
        self.rows_above = Range1d(start=0, end=1, syncable=False)
        self.rows_right = Range1d(start=0, end=1, syncable=False)
        self.above = _plot("x_histogram", x_range, self.rows_above, canvas.width, HISTOGRAM_SIZE)
        # each rows axis one line of text deep whatever its labels (see the main plot's axes)
        self.above.add_layout(_rows_axis("vertical"), "left")
        edges = transform("pixel", _edges(image_source, "x"))
        columns = VAreaStep(x=edges, y1=0, y2="rows", step_mode="after", fill_color=BAR_COLOUR)
        self.above.add_glyph(self.x_source, columns)
        self.right = _plot("y_histogram", self.rows_right, y_range, HISTOGRAM_SIZE, canvas.height)
        self.right.add_layout(_rows_axis("horizontal"), "below")
        edges = transform("pixel", _edges(image_source, "y"))
        rows = HAreaStep(y=edges, x1=0, x2="rows", step_mode="after", fill_color=BAR_COLOUR)
        self.right.add_glyph(self.y_source, rows)

    def show(self, counts: npt.NDArray[np.generic]) -> None:
        """Show the sums of ``counts``, the count grid of a view whose image shows another
        reduction (the page sums count grids itself).

        Only the ``rows`` column changes while the grid keeps its size, so each such update
        carries one array.
        """
        per_column, per_row = pixel_sums(counts)
        for source, sums in ((self.x_source, per_column), (self.y_source, per_row)):
            if len(source.data["pixel"]) == len(sums) + 1:
                source.data["rows"] = closed(sums)
            else:  # the page's plot has another size now
                source.data = {"pixel": list(range(len(sums) + 1)), "rows": closed(sums)}
        self.rows_above.end = max(int(per_column.max()), 1)
        self.rows_right.end = max(int(per_row.max()), 1)
