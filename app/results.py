"""What a render thread makes of a rendered aggregate for one session: a pure function.

The page's grid (a ``count_by`` image's totals, else the aggregate's own), its packing (shared
by every viewer of the view), the shaded image of a ``count_by`` grid, whether the page's grid
counts rows, and the status line. Nothing here touches a Bokeh document, so it runs on the
render thread and is tested without one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipeline import Aggregate, PackedGrid, Rendered, pack_grid

from .categories import CategoryImage, category_image


@dataclass(frozen=True, eq=False)
class ImageUpdate:
    """Everything a session shows of one rendered view."""

    aggregate: Aggregate
    grid: npt.NDArray[np.generic]  # what the page colours, reads out and sums
    packed: PackedGrid  # ``grid`` as it travels to the page
    counts: bool  # ``grid`` counts rows per pixel: the page sums it for the histograms
    shading: CategoryImage | None  # the server's image of a count_by grid
    status: str
    rows_in_view: int | None  # when ``grid`` counts rows


def status_line(rendered: Rendered, rows_in_view: int | None) -> str:
    """The line under the plot: rows in view (or the reduction), rows scanned, time, cache."""
    aggregate = rendered.aggregate
    return " | ".join(
        [
            f"{rows_in_view:,} rows in view" if rows_in_view is not None else str(aggregate.reduction),
            f"{aggregate.rows_scanned:,} rows scanned",
            f"render {aggregate.seconds * 1e3:.1f} ms",
            "from cache" if rendered.from_cache else "computed",
        ]
    )


def image_update(rendered: Rendered, categories: Callable[[str], list[str]]) -> ImageUpdate:
    """What a session shows of ``rendered``; ``categories`` gives a categorical column's labels.

    A ``count_by`` grid is shaded here; its page grid is its total per pixel.
    """
    aggregate = rendered.aggregate
    reduction = aggregate.reduction
    shading = None
    if reduction.kind.shaded_on_server and reduction.column is not None:
        shading = category_image(aggregate.grid, categories(reduction.column))
    grid = aggregate.grid if shading is None else shading.totals
    packed = aggregate.packed if shading is None and aggregate.packed is not None else pack_grid(grid)
    counts = reduction.kind.counts_in_page
    rows_in_view = int(grid.sum(dtype="uint64")) if counts else None
    return ImageUpdate(
        aggregate, grid, packed, counts, shading, status_line(rendered, rows_in_view), rows_in_view
    )
