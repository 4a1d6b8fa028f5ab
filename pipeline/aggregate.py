"""An aggregate grid, the base class of every aggregation backend, and what follows an aggregation.

Datashader does every aggregation. :meth:`Backend.aggregate` validates the reduction against
the table's schema, picks the columns, builds Datashader's canvas and times the work once, as
Datashader's ``bypixel`` validates once and then hands off; each backend only chooses which
rows Datashader sees (:meth:`Backend.grid`). :func:`shareable` is the one step after it: blank
sparse pixels, store counts in their smallest dtype, and pack the grid for the page.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import datashader as ds
import numpy as np
import numpy.typing as npt
import pandas as pd

from .packing import PACKABLE, PackedGrid, pack_grid
from .reduction import Reduction
from .viewport import Canvas, Viewport

__all__ = [
    "Aggregate",
    "Backend",
    "GridQuery",
    "blank_sparse_pixels",
    "compact_grid",
    "datashader_canvas",
    "shareable",
]


@dataclass(frozen=True, eq=False)
class Aggregate:
    """One aggregate grid and what it shows. ``grid[0, 0]`` is the bottom-left pixel.

    ``packed`` is the grid as it travels to the page (see ``packing.py``), when it has been
    packed: it is made once, with the grid, and shared by every viewer of this aggregate.
    """

    grid: npt.NDArray[np.generic]
    viewport: Viewport
    canvas: Canvas
    reduction: Reduction
    rows_scanned: int
    seconds: float = field(compare=False)
    packed: PackedGrid | None = field(default=None, compare=False)

    @property
    def nbytes(self) -> int:
        """Bytes held: the grid, plus its packing where that is not a view of the grid."""
        packed = self.packed
        extra = 0 if packed is None or np.may_share_memory(packed.data, self.grid) else packed.nbytes
        return int(self.grid.nbytes) + extra


@dataclass(frozen=True, eq=False)
class GridQuery:
    """A validated request, as a backend receives it."""

    viewport: Viewport
    canvas: ds.Canvas
    reduction: Reduction
    columns: list[str]  # x, y and the reduction's column, each once


def datashader_canvas(viewport: Viewport, canvas: Canvas) -> ds.Canvas:
    """Datashader's canvas for ``canvas`` pixels over ``viewport`` (both ranges closed)."""
    return ds.Canvas(
        plot_width=canvas.width,
        plot_height=canvas.height,
        x_range=(viewport.x0, viewport.x1),
        y_range=(viewport.y0, viewport.y1),
    )


class Backend(ABC):
    """Turns a viewport, canvas and reduction into the grid Datashader gives on the whole table."""

    def __init__(self, schema: pd.Series, x: str, y: str) -> None:
        self.schema = schema
        self.x = x
        self.y = y

    def aggregate(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Aggregate:
        """The grid of ``reduction`` over the rows in ``viewport``."""
        reduction.validate(self.schema)
        started = time.perf_counter()
        columns = [self.x, self.y, *(c for c in reduction.columns if c not in (self.x, self.y))]
        query = GridQuery(viewport, datashader_canvas(viewport, canvas), reduction, columns)
        grid, rows_scanned = self.grid(query)
        return Aggregate(grid, viewport, canvas, reduction, rows_scanned, time.perf_counter() - started)

    @abstractmethod
    def grid(self, query: GridQuery) -> tuple[npt.NDArray[np.generic], int]:
        """The grid of ``query`` and how many rows were read for it."""

    def close(self) -> None:  # noqa: B027 (a hook: most backends hold nothing to release)
        """Release what the backend holds beyond the table (threads, a cluster's client)."""


def compact_grid(grid: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """The same values in the smallest unsigned dtype that holds them (counts only)."""
    if grid.dtype.kind != "u" or grid.size == 0:
        return grid
    peak = int(grid.max())
    for dtype in (np.uint8, np.uint16, np.uint32):
        if peak <= np.iinfo(dtype).max:
            return grid.astype(dtype, copy=False)
    return grid


def blank_sparse_pixels(
    grid: npt.NDArray[np.generic], counts: npt.NDArray[np.generic], min_count: int
) -> npt.NDArray[np.generic]:
    """``grid`` with every pixel of fewer than ``min_count`` rows emptied (0 for counts, else NaN).

    With ``--min-count``, an image never shows a pixel that a few individual rows make up.
    """
    blanked = grid.copy()
    sparse = np.less(counts, min_count)
    if blanked.dtype.kind in "ui":
        blanked[sparse] = 0
    else:
        blanked[sparse] = np.nan
    return blanked


def shareable(
    aggregate: Aggregate, min_count: int, count_grid: Callable[[], npt.NDArray[np.generic]]
) -> Aggregate:
    """``aggregate`` as every viewer of its view shares it: pixels of fewer than ``min_count``
    rows blanked (``count_grid`` gives the view's counts, when the grid itself is not one), counts
    in their smallest dtype, the grid read-only and packed once, here on a render thread."""
    grid = aggregate.grid
    if min_count > 1:
        counts = grid if aggregate.reduction.kind.counts_rows else count_grid()
        grid = blank_sparse_pixels(grid, counts, min_count)
    grid = compact_grid(grid)
    grid.flags.writeable = False
    packed = pack_grid(grid) if grid.ndim == 2 and grid.dtype.name in PACKABLE else None
    if packed is not None:
        packed.data.flags.writeable = False
    return replace(aggregate, grid=grid, packed=packed)
