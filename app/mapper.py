"""Colours for the image, applied in the browser: a colour map and a normalisation per session.

Each normalisation is one of Bokeh's own colour mappers (equal histogram, log, linear). All
three share the session's palette; the image and its colour bar use the chosen one. Changing
either choice changes only properties of models the page already holds, so the browser
recolours the grid it has: nothing is aggregated again. Keeping to Bokeh's own models lets any
client (``bokeh.client`` included) load the document.

Ranges, set for each grid as it arrives (:meth:`ImageColours.fit`):

- count grids: zero (no rows) is transparent and every scale starts at 1;
- other reductions: NaN (no rows) is transparent; equal histogram and linear span the grid's
  own range; log spans the smallest positive value to the largest, and values at or below
  zero, which have no logarithm, take the lowest colour of the palette (as the smallest
  positive value does; the hover read-out shows the value itself).

:func:`shading_span` gives Datashader's ``shade`` the same ranges, for the PNG download.
"""

from __future__ import annotations

from typing import Any

import colorcet
import numpy as np
import numpy.typing as npt
from bokeh.document import Document
from bokeh.models.formatters import CustomJSTickFormatter
from bokeh.models.mappers import (
    ContinuousColorMapper,
    EqHistColorMapper,
    LinearColorMapper,
    LogColorMapper,
)
from bokeh.models.sources import ColumnDataSource

from .scripts import custom_js, custom_js_tick_formatter

TRANSPARENT = (0, 0, 0, 0)

# colorcet's perceptually uniform maps, by their colorcet names (the address's ``cmap=``);
# fire starts at black: its darkest eighth is left out so that the sparsest pixels show red
COLORMAPS: dict[str, list[str]] = {
    "fire": list(colorcet.fire[32:]),
    **{name: list(colorcet.palette[name]) for name in ("bmy", "bgy", "kbc", "blues", "dimgray", "rainbow4")},
}
DEFAULT_COLORMAP = "fire"
# normalisation (the address's ``norm=``) -> its label on the page
NORMALIZATIONS: dict[str, str] = {"eq_hist": "equal histogram", "log": "log", "linear": "linear"}
DEFAULT_NORMALIZATION = "eq_hist"


def compact_ticks(image_source: ColumnDataSource) -> CustomJSTickFormatter:
    """The colour bar's tick labels: 950, 1.2K, 3.4M; whole numbers for a count grid."""
    return custom_js_tick_formatter("compact_ticks", {"source": image_source})


def count_color_mapper(doc: Document, source: ColumnDataSource, palette: list[str]) -> EqHistColorMapper:
    """An equal-histogram mapper where counts below 1 are transparent.

    The model is Bokeh's own, so any client (``bokeh.client`` included) can load the
    document; once the page is ready, or when an image of ``source`` arrives after that
    (a plot added after a loading page), ``js/count_eq_hist.js`` gives this mapper a
    one-pass scan for integer grids.
    """
    mapper = EqHistColorMapper(palette=palette, low=1, low_color=TRANSPARENT, nan_color=TRANSPARENT)
    install = custom_js("count_eq_hist", {"mapper": mapper})
    doc.js_on_event("document_ready", install)
    source.js_on_change("data", install)
    return mapper


def positive_values(grid: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The grid's finite values above zero (NaN, no rows, is neither)."""
    positive: npt.NDArray[Any] = grid[(grid > 0) & np.isfinite(grid)]
    return positive


def positive_span(grid: npt.NDArray[Any], counts: bool) -> tuple[float, float] | None:
    """The smallest and largest positive values of ``grid`` (1 and the largest for a count
    grid, which has no NaN and whose maximum alone needs a pass), or None if it has none."""
    if counts:
        peak = float(grid.max(initial=0))
        return (1.0, peak) if peak > 0 else None
    positive = positive_values(grid)
    return (float(positive.min()), float(positive.max())) if positive.size else None


def shading_span(grid: npt.NDArray[Any], counts: bool, normalization: str) -> tuple[float, float] | None:
    """The data range over which Datashader's ``shade`` must spread the palette to colour
    ``grid`` as :meth:`ImageColours.fit` has the page colour it; None for the grid's own range.

    Counts start at 1 on every scale and log starts at the smallest positive value; ``shade``
    clips values to the span, so values at or below its start take the lowest colour. Equal
    histogram takes no span: it equalises the non-empty pixels alone, as the page does.
    """
    span = positive_span(grid, counts)
    if normalization == "eq_hist" or span is None:
        return None
    return span if normalization == "log" or counts else None


class ImageColours:
    """One session's colour mappers, one per normalisation, all with the chosen palette."""

    def __init__(self, doc: Document, source: ColumnDataSource, colormap: str, normalization: str) -> None:
        palette = COLORMAPS[colormap]
        self.mappers: dict[str, ContinuousColorMapper] = {
            "eq_hist": count_color_mapper(doc, source, palette),
            # no image yet: nothing on the log scale (see fit)
            "log": LogColorMapper(
                palette=palette, low=1, high=1, low_color=TRANSPARENT, nan_color=TRANSPARENT
            ),
            "linear": LinearColorMapper(palette=palette, low=1, low_color=TRANSPARENT, nan_color=TRANSPARENT),
        }
        self.colormap = colormap
        self.normalization = normalization

    @property
    def mapper(self) -> ContinuousColorMapper:
        """The mapper of the chosen normalisation."""
        return self.mappers[self.normalization]

    def choose(self, colormap: str, normalization: str) -> None:
        """Use ``colormap``'s palette in every mapper and ``normalization``'s mapper from now on."""
        palette = COLORMAPS[colormap]
        for mapper in self.mappers.values():
            mapper.palette = palette
        self.colormap = colormap
        self.normalization = normalization

    def fit(self, grid: np.ndarray, counts: bool) -> None:
        """Set every mapper's range for ``grid``, a count grid (``counts``) or another reduction's."""
        span = positive_span(grid, counts)
        # Log has no place for values <= 0: its scale runs from the smallest positive value
        # (1 for counts) to the largest, and values below it take low_color: transparent for
        # counts (zero is no rows), the palette's lowest colour (None) otherwise. Without a
        # positive value, low == high puts every value below the scale. Both ends are set
        # here, so the browser never takes the logarithm of a value <= 0.
        log_low, log_high = span if span is not None else (1.0, 1.0)
        self.mappers["log"].update(low=log_low, high=log_high, low_color=TRANSPARENT if counts else None)
        # Counts start at 1, so zero is transparent (and a grid without rows gets linear
        # low == high: nothing on the scale); other reductions span their own range.
        low = 1.0 if counts else None
        self.mappers["eq_hist"].low = low
        self.mappers["linear"].update(low=low, high=1.0 if counts and span is None else None)
