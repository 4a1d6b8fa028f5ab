"""The image grid on its way to the page.

Each grid is packed (``pipeline.packing``: left differences and byte planes, which the
websocket's deflate compresses to about two thirds of the raw grid's size) on a render thread,
once per aggregate: every session showing the same view sends the same packed bytes from a
synced source, ``image_wire``. The page unpacks it (``js/unpack.js``) into ``image_source``, the
exact grid that the glyphs, the hover read-out, the colour scan and the histograms read. The server never
sets ``image_source`` (that would send the grid a second time, raw), and the page's copy never
goes back (the source is not synced). The histograms of a count grid are its column and row
sums, so the page sums the grid it unpacked, and no sums travel. Python clients unpack with
:func:`unpacked_image`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from bokeh.document import Document
from bokeh.models.sources import ColumnDataSource

from pipeline import PackedGrid, Viewport, unpack_grid

from .histograms import Histograms
from .scripts import custom_js


def no_wire() -> dict[str, list[Any]]:
    """The data of a wire source that carries no grid."""
    return {
        "packed": [],
        "dtype": [],
        "rows": [],
        "columns": [],
        "delta": [],
        "counts": [],
        "x": [],
        "y": [],
        "dw": [],
        "dh": [],
    }


def wire_data(packed: PackedGrid, viewport: Viewport, *, counts: bool) -> dict[str, list[Any]]:
    """The data of a wire source that carries the ``packed`` grid, shown over ``viewport``;
    ``counts``: the grid counts rows per pixel, so the page sums it for the histograms."""
    return {
        "packed": [packed.data],
        "dtype": [packed.dtype],
        "rows": [packed.rows],
        "columns": [packed.columns],
        "delta": [packed.delta],
        "counts": [counts],
        "x": [viewport.x0],
        "y": [viewport.y0],
        "dw": [viewport.width],
        "dh": [viewport.height],
    }


def unpacked_image(data: dict[str, Any]) -> dict[str, list[Any]]:
    """The image data that a wire source's ``data`` carries, as the page unpacks it: the data of
    an image source (``image``, ``x``, ``y``, ``dw``, ``dh``). For Python clients and tests."""
    if not len(data["packed"]):
        return {"image": [], "x": [], "y": [], "dw": [], "dh": []}
    packed = PackedGrid(
        np.asarray(data["packed"][0], dtype=np.uint8),
        str(data["dtype"][0]),
        int(data["rows"][0]),
        int(data["columns"][0]),
        bool(data["delta"][0]),
    )
    return {"image": [unpack_grid(packed)], **{key: list(data[key]) for key in ("x", "y", "dw", "dh")}}


def unpack_in_the_page(
    doc: Document, wire: ColumnDataSource, target: ColumnDataSource, bars: Histograms
) -> None:
    """Fill ``target`` in the page from each grid that arrives in ``wire``, and when the page
    opens (its document may come with a grid). For a count grid, the page also sets the
    histograms' ``bars`` to the grid's column and row sums; otherwise the server sends them,
    and the bars, placed from ``target``, are placed again when the page opens."""
    callback = custom_js(
        "unpack",
        {
            "wire": wire,
            "target": target,
            "column_sums": bars.x_source,
            "row_sums": bars.y_source,
            "column_peak": bars.rows_above,
            "row_peak": bars.rows_right,
        },
    )
    doc.js_on_event("document_ready", callback)
    wire.js_on_change("data", callback)
