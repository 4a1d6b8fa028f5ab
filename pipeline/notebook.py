"""The process-wide store in a Jupyter notebook, through HoloViews.

The same store the server uses (one loaded, indexed table per process, a shared image
cache) answers a HoloViews ``DynamicMap``: every zoom or pan of the notebook plot asks the
store for the grid of the new view, exactly as a browser session does::

    import holoviews as hv
    from pipeline import Settings, get_store
    from pipeline.notebook import dynamic_image

    hv.extension("bokeh")
    store = get_store()
    store.start(Settings(rows=10_000_000))  # or Settings(source=Path("points.parquet"), x=..., y=...)
    store.wait_ready()
    dynamic_image(store)  # or dynamic_image(store, Reduction("mean", "value"))
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import numpy.typing as npt

from .reduction import Reduction
from .shading import category_colors, shade_categories
from .store import DataStore
from .viewport import Canvas, Viewport

__all__ = ["dynamic_image", "image_for"]

Range = tuple[float, float]
COUNT = Reduction()
DEFAULT_CANVAS = Canvas(800, 600)


def _centres(start: float, end: float, pixels: int) -> npt.NDArray[np.float64]:
    return start + (np.arange(pixels, dtype=np.float64) + 0.5) * ((end - start) / pixels)


def image_for(
    store: DataStore,
    x_range: Range | None = None,
    y_range: Range | None = None,
    reduction: Reduction = COUNT,
    canvas: Canvas = DEFAULT_CANVAS,
) -> hv.Image | hv.RGB:
    """The store's grid of a view as a HoloViews element (the whole data when a range is None).

    ``count_by`` grids come back shaded into an ``hv.RGB``, one colour per category; every
    other reduction is an ``hv.Image`` of the grid's values, row 0 at the bottom.
    """
    dataset = store.dataset
    home = store.home_viewport()
    viewport = Viewport.from_ranges(
        *(x_range if x_range is not None else (home.x0, home.x1)),
        *(y_range if y_range is not None else (home.y0, home.y1)),
    )
    grid = store.render(viewport, canvas, reduction).aggregate.grid
    xs = _centres(viewport.x0, viewport.x1, canvas.width)
    ys = _centres(viewport.y0, viewport.y1, canvas.height)
    if reduction.kind.shaded_on_server and reduction.column is not None:
        colors = category_colors(len(dataset.categories(reduction.column)))
        channels = shade_categories(grid, colors).view(np.uint8).reshape(canvas.height, canvas.width, 4)
        return hv.RGB(
            (xs, ys, *(channels[..., i] / 255 for i in range(4))),
            kdims=[dataset.x, dataset.y],
            vdims=["R", "G", "B", "A"],
        )
    return hv.Image((xs, ys, grid), kdims=[dataset.x, dataset.y], vdims=[str(reduction)])


def dynamic_image(
    store: DataStore, reduction: Reduction = COUNT, canvas: Canvas = DEFAULT_CANVAS
) -> hv.DynamicMap:
    """A ``DynamicMap`` that re-aggregates through ``store`` on every zoom or pan."""

    def view(x_range: Range | None, y_range: Range | None) -> hv.Image | hv.RGB:
        return image_for(store, x_range, y_range, reduction, canvas)

    return hv.DynamicMap(view, streams=[hv.streams.RangeXY()])
