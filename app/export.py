"""Downloads of what the viewer sees: the image as a PNG, the aggregate grid as a ``.npy`` file.

Both are made on the server only when asked, from the grid on screen. The PNG is that grid
shaded by Datashader with the session's palette and normalisation over the ranges the page
uses (:func:`app.mapper.shading_span`), empty pixels transparent, top row first as on
screen; a ``count_by`` grid is shaded as the page shows it, one colour per category. The
``.npy`` file is NumPy's own format of the grid: its values, dtype and shape, ``grid[0]``
being the bottom row as in Datashader. The bytes reach the page through a
``ColumnDataSource`` that ``js/download.js`` watches: it saves them as a file and empties the
source, so that neither side keeps them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import datashader.transfer_functions as tf
import numpy as np
import numpy.typing as npt
import xarray as xr
from bokeh.models.sources import ColumnDataSource

from pipeline import Aggregate, category_colors, shade_categories

from .mapper import COLORMAPS, shading_span
from .scripts import custom_js


@dataclass(frozen=True, eq=False)
class Download:
    """A file for the viewer to save."""

    filename: str
    media_type: str
    content: bytes


def png_bytes(grid: npt.NDArray[np.generic], counts: bool, colormap: str, normalization: str) -> bytes:
    """``grid`` coloured as the page colours it, encoded as an RGBA PNG of the grid's size."""
    image = tf.shade(
        xr.DataArray(grid, dims=("y", "x")),
        cmap=COLORMAPS[colormap],
        how=normalization,
        span=shading_span(grid, counts, normalization),
    )
    return encoded_png(image)


def category_png_bytes(grid: npt.NDArray[np.generic]) -> bytes:
    """A ``count_by`` grid shaded as the page shades it, encoded as an RGBA PNG."""
    rgba = shade_categories(grid, category_colors(grid.shape[2]))
    return encoded_png(tf.Image(xr.DataArray(rgba, dims=("y", "x"))))


def encoded_png(image: tf.Image) -> bytes:
    """A shaded image as PNG bytes, top row (highest y) first, as ``to_pil`` puts it."""
    encoded = io.BytesIO()
    image.to_pil().save(encoded, format="PNG")
    return encoded.getvalue()


def npy_bytes(grid: npt.NDArray[np.generic]) -> bytes:
    """``grid`` in NumPy's ``.npy`` format, as ``numpy.save`` writes it."""
    encoded = io.BytesIO()
    np.save(encoded, grid, allow_pickle=False)
    return encoded.getvalue()


def file_stem(aggregate: Aggregate) -> str:
    """The download's name without extension: the reduction, and its column if it has one."""
    reduction = aggregate.reduction
    return reduction.name if reduction.column is None else f"{reduction.name}-{reduction.column}"


def png_download(aggregate: Aggregate, colormap: str, normalization: str) -> Download:
    """The image of ``aggregate`` in these colours, as a PNG file."""
    kind = aggregate.reduction.kind
    if kind.shaded_on_server:
        content = category_png_bytes(aggregate.grid)
    else:
        content = png_bytes(aggregate.grid, kind.counts_rows, colormap, normalization)
    return Download(f"{file_stem(aggregate)}.png", "image/png", content)


def grid_download(aggregate: Aggregate) -> Download:
    """The grid of ``aggregate``, as a ``.npy`` file."""
    return Download(f"{file_stem(aggregate)}.npy", "application/octet-stream", npy_bytes(aggregate.grid))


def no_download() -> dict[str, list[object]]:
    """The data of a download source that holds no file."""
    return {"filename": [], "media_type": [], "content": []}


def download_source() -> ColumnDataSource:
    """The source that carries a download to the page, which saves it and empties the source."""
    source = ColumnDataSource(name="download", data=no_download())
    source.js_on_change("data", custom_js("download", {"source": source}))
    return source


def send(source: ColumnDataSource, download: Download) -> None:
    """Hand ``download`` to the page through ``source`` (see :func:`download_source`)."""
    source.data = {
        "filename": [download.filename],
        "media_type": [download.media_type],
        "content": [np.frombuffer(download.content, dtype=np.uint8)],
    }
