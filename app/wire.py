"""The image grid on its way to the page.

The server packs each grid (``pipeline.packing``: left differences and byte planes, which the
websocket's deflate compresses to about two thirds of the raw grid's size) into a synced source,
``image_wire``. The page unpacks it (``unpack.js``) into ``image_source``, the exact grid that the
glyphs, the hover, the colour scan and the histograms read. ``image_source`` is not synced: the
server keeps its own copy of the same grid, and the page's copy never goes back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bokeh.document import Document
from bokeh.models.callbacks import CustomJS
from bokeh.models.sources import ColumnDataSource

from pipeline import Viewport
from pipeline.packing import pack_grid

UNPACK_JS = (Path(__file__).resolve().parent / "unpack.js").read_text()


def no_wire() -> dict[str, list[Any]]:
    """The data of a wire source that carries no grid."""
    return {
        "packed": [],
        "dtype": [],
        "rows": [],
        "columns": [],
        "delta": [],
        "x": [],
        "y": [],
        "dw": [],
        "dh": [],
    }


def wire_data(grid: Any, viewport: Viewport) -> dict[str, list[Any]]:
    """The data of a wire source that carries ``grid``, shown over ``viewport``."""
    packed = pack_grid(grid)
    return {
        "packed": [packed.data],
        "dtype": [packed.dtype],
        "rows": [packed.rows],
        "columns": [packed.columns],
        "delta": [packed.delta],
        "x": [viewport.x0],
        "y": [viewport.y0],
        "dw": [viewport.width],
        "dh": [viewport.height],
    }


def unpack_in_the_page(doc: Document, wire: ColumnDataSource, target: ColumnDataSource) -> None:
    """Fill ``target`` in the page from each grid that arrives in ``wire``, and when the page
    opens (its document may come with a grid)."""
    callback = CustomJS(args={"wire": wire, "target": target}, code=UNPACK_JS)
    doc.js_on_event("document_ready", callback)
    wire.js_on_change("data", callback)
