"""Colours for count grids: Bokeh's equal-histogram mapper, sped up in the browser for integers."""

from __future__ import annotations

from pathlib import Path

from bokeh.document import Document
from bokeh.models.callbacks import CustomJS
from bokeh.models.mappers import EqHistColorMapper
from bokeh.models.sources import ColumnDataSource

FAST_COUNT_SCAN = (Path(__file__).resolve().parent / "count_eq_hist.js").read_text()


def count_color_mapper(
    doc: Document, source: ColumnDataSource, palette: list[str], transparent: tuple[int, int, int, int]
) -> EqHistColorMapper:
    """An equal-histogram mapper where counts below 1 are transparent.

    The model is Bokeh's own, so any client (``bokeh.client`` included) can load the
    document; once the page is ready, or when an image of ``source`` arrives after that
    (a plot added after a loading page), ``count_eq_hist.js`` gives this mapper a
    one-pass scan for integer grids.
    """
    mapper = EqHistColorMapper(palette=palette, low=1, low_color=transparent, nan_color=transparent)
    install = CustomJS(args={"mapper": mapper}, code=FAST_COUNT_SCAN)
    doc.js_on_event("document_ready", install)
    source.js_on_change("data", install)
    return mapper
