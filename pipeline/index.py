"""A spatial index: rows sorted by grid cell along a Hilbert curve, plus a cell -> rows table.

At load time every row gets the cell of a ``GRID_SIDE`` x ``GRID_SIDE`` grid laid over the
data's finite extent; rows are reordered (a counting sort, O(rows)) so that each cell's rows
are contiguous and cells follow a Hilbert curve, which keeps nearby cells nearby in memory.
A viewport then maps to a short list of row ranges that together hold every row inside it.

The ranges are a superset of the rows in view, never a subset: cell bounds are computed with
the same floating-point operations for rows and for viewport corners, and those operations
are monotonic, so a row with ``x0 <= x <= x1`` always lies in a cell between the cells of
``x0`` and ``x1``. Datashader then filters the extra rows, so images stay exact.
Rows whose x or y is NaN or infinite can never be in a finite viewport; they are kept at the
end of the frame, outside every range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import numpy.typing as npt
import pandas as pd

from .viewport import Viewport

__all__ = [
    "GRID_BITS",
    "GRID_SIDE",
    "RowRanges",
    "SpatialIndex",
    "finite_bounds",
    "finite_extent",
    "hilbert_codes",
]

GRID_BITS = 10
GRID_SIDE = 1 << GRID_BITS  # cells per axis
CELLS = GRID_SIDE * GRID_SIDE

# A viewport is looked up as at most this many blocks of cells (coarser blocks for larger views).
MAX_QUERY_BLOCKS = 4096
# Gaps under 1/SMALL_GAP_DIVISOR of the rows in range are scanned rather than skipped.
SMALL_GAP_DIVISOR = 64

RowRanges = npt.NDArray[np.int64]  # shape (n, 2): [start, stop) per range, ascending


def hilbert_codes(cx: npt.NDArray[np.int64], cy: npt.NDArray[np.int64], bits: int) -> npt.NDArray[np.int64]:
    """Distance along the Hilbert curve of order ``bits`` for each cell (cx, cy)."""
    x = cx.astype(np.int64, copy=True)
    y = cy.astype(np.int64, copy=True)
    d = np.zeros_like(x)
    s = 1 << (bits - 1)
    side = 1 << bits
    while s > 0:
        rx = ((x & s) > 0).astype(np.int64)
        ry = ((y & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant so that the curve stays continuous
        flip = (ry == 0) & (rx == 1)
        x = np.where(flip, side - 1 - x, x)
        y = np.where(flip, side - 1 - y, y)
        swap = ry == 0
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d


def _cell_order_table() -> npt.NDArray[np.int32]:
    """Hilbert position of every cell, indexed by ``cy * GRID_SIDE + cx``."""
    cy, cx = np.divmod(np.arange(CELLS, dtype=np.int64), GRID_SIDE)
    return hilbert_codes(cx, cy, GRID_BITS).astype(np.int32)


_CELL_ORDER = _cell_order_table()


@nb.njit(nogil=True, cache=True)
def _cell_of(value: float, origin: float, scale: float) -> int:
    # The same expression serves rows and viewport corners: monotonic in ``value``.
    position = np.floor((value - origin) * scale)
    if position < 0:
        return 0
    if position > GRID_SIDE - 1:
        return GRID_SIDE - 1
    return int(position)


@nb.njit(nogil=True, cache=True)
def _row_codes(x, y, x_origin, x_scale, y_origin, y_scale, cell_order):  # type: ignore[no-untyped-def]
    codes = np.empty(x.shape[0], dtype=np.int32)
    for i in range(x.shape[0]):
        if np.isfinite(x[i]) and np.isfinite(y[i]):
            cx = _cell_of(x[i], x_origin, x_scale)
            cy = _cell_of(y[i], y_origin, y_scale)
            codes[i] = cell_order[cy * GRID_SIDE + cx]
        else:
            codes[i] = CELLS  # never in view: a bucket after every cell
    return codes


@nb.njit(nogil=True, cache=True)
def _destinations(codes, starts):  # type: ignore[no-untyped-def]
    cursor = starts.copy()
    destination = np.empty(codes.shape[0], dtype=np.int64)
    for i in range(codes.shape[0]):
        code = codes[i]
        destination[i] = cursor[code]
        cursor[code] += 1
    return destination


@nb.njit(nogil=True, cache=True)
def _scatter(values, destination, out):  # type: ignore[no-untyped-def]
    for i in range(values.shape[0]):
        out[destination[i]] = values[i]


@nb.njit(nogil=True, cache=True)
def _finite_bounds(x, y):  # type: ignore[no-untyped-def]
    count = 0
    x0 = y0 = np.inf
    x1 = y1 = -np.inf
    for i in range(x.shape[0]):
        if np.isfinite(x[i]) and np.isfinite(y[i]):
            count += 1
            x0, x1 = min(x0, x[i]), max(x1, x[i])
            y0, y1 = min(y0, y[i]), max(y1, y[i])
    return count, x0, x1, y0, y1


def finite_bounds(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
) -> tuple[float, float, float, float]:
    """``(x0, x1, y0, y1)`` of the points with finite x and y; ``(inf, -inf, inf, -inf)`` if none."""
    _, x0, x1, y0, y1 = _finite_bounds(x, y)
    return float(x0), float(x1), float(y0), float(y1)


def finite_extent(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> Viewport | None:
    """The bounding box of the points whose x and y are both finite (None if there are none).

    The box may have zero width or height (all points on one line); it is not validated
    as a viewport.
    """
    count, x0, x1, y0, y1 = _finite_bounds(x, y)
    if count == 0:
        return None
    return Viewport(float(x0), float(x1), float(y0), float(y1))


@dataclass(frozen=True, eq=False)
class SpatialIndex:
    """Cell -> row-range table over a frame already sorted by :meth:`build`.

    ``cell_starts[h]`` is the first row of the cell at Hilbert position ``h``;
    ``cell_starts[CELLS]`` is the number of rows with finite x and y.
    """

    x_origin: float
    x_scale: float
    y_origin: float
    y_scale: float
    cell_starts: npt.NDArray[np.int64]
    extent: Viewport | None

    @classmethod
    def build(
        cls, x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]
    ) -> tuple[SpatialIndex, npt.NDArray[np.int64]]:
        """Index the points; returns the index and each row's destination in sorted order."""
        extent = finite_extent(x, y)
        x_low, x_high, y_low, y_high = (
            (extent.x0, extent.x1, extent.y0, extent.y1) if extent else (0.0, 0.0, 0.0, 0.0)
        )
        x_scale = GRID_SIDE / (x_high - x_low) if x_high > x_low else 0.0
        y_scale = GRID_SIDE / (y_high - y_low) if y_high > y_low else 0.0
        codes = _row_codes(x, y, x_low, x_scale, y_low, y_scale, _CELL_ORDER)
        counts = np.bincount(codes, minlength=CELLS + 1)
        starts = np.zeros(CELLS + 2, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        destination = _destinations(codes, starts[:-1])
        index = cls(x_low, x_scale, y_low, y_scale, starts[: CELLS + 1].copy(), extent)
        return index, destination

    @staticmethod
    def reorder(
        values: npt.NDArray[np.generic], destination: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.generic]:
        """``values`` moved to the sorted order that :meth:`build` returned."""
        out = np.empty_like(values)
        _scatter(values, destination, out)
        return out

    @classmethod
    def sort_frame(cls, frame: pd.DataFrame, x: str, y: str) -> tuple[pd.DataFrame, SpatialIndex]:
        """Index ``frame`` by its ``x`` and ``y`` columns; returns the sorted frame and the index.

        Columns are moved one at a time and each unsorted column is dropped from ``frame``
        as soon as its sorted copy exists, so the peak memory is one column above the frame.
        """
        index, destination = cls.build(frame[x].to_numpy(), frame[y].to_numpy())
        columns: dict[str, object] = {}
        for name in list(frame.columns):
            column = frame[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                codes = cls.reorder(column.cat.codes.to_numpy(), destination)
                columns[name] = pd.Categorical.from_codes(codes, dtype=column.dtype)
            else:
                columns[name] = cls.reorder(column.to_numpy(), destination)
            del frame[name]
        return pd.DataFrame(columns, copy=False), index

    @property
    def finite_rows(self) -> int:
        return int(self.cell_starts[CELLS])

    @property
    def nbytes(self) -> int:
        return int(self.cell_starts.nbytes)

    def row_ranges(self, viewport: Viewport, max_ranges: int) -> RowRanges:
        """At most ``max_ranges`` row ranges that hold every row inside ``viewport``.

        Neighbouring ranges are joined across the smallest gaps first, so the rows
        scanned outside the view stay few while the number of ranges stays bounded.
        """
        extent = self.extent
        if (
            extent is None
            or viewport.x1 < extent.x0
            or viewport.x0 > extent.x1
            or viewport.y1 < extent.y0
            or viewport.y0 > extent.y1
        ):
            return np.empty((0, 2), dtype=np.int64)
        cx0, cx1 = (
            _cell_of(viewport.x0, self.x_origin, self.x_scale),
            _cell_of(viewport.x1, self.x_origin, self.x_scale),
        )
        cy0, cy1 = (
            _cell_of(viewport.y0, self.y_origin, self.y_scale),
            _cell_of(viewport.y1, self.y_origin, self.y_scale),
        )
        if cx0 == 0 and cy0 == 0 and cx1 == GRID_SIDE - 1 and cy1 == GRID_SIDE - 1:
            return np.array([[0, self.finite_rows]], dtype=np.int64)
        # Large views are covered by coarser blocks: the fine cells of an aligned 2^s x 2^s
        # block are one contiguous run of 4^s Hilbert positions, so a block is one range.
        shift = 0
        while ((cx1 >> shift) - (cx0 >> shift) + 1) * (
            (cy1 >> shift) - (cy0 >> shift) + 1
        ) > MAX_QUERY_BLOCKS:
            shift += 1
        cols = np.arange(cx0 >> shift, (cx1 >> shift) + 1, dtype=np.int64) << shift
        rows = np.arange(cy0 >> shift, (cy1 >> shift) + 1, dtype=np.int64) << shift
        blocks = _CELL_ORDER[(rows[:, None] * GRID_SIDE + cols[None, :]).ravel()].astype(np.int64) >> (
            2 * shift
        )
        blocks.sort()
        starts = self.cell_starts[blocks << (2 * shift)]
        stops = self.cell_starts[(blocks + 1) << (2 * shift)]
        keep = stops > starts
        starts, stops = starts[keep], stops[keep]
        if starts.size == 0:
            return np.empty((0, 2), dtype=np.int64)
        gaps = starts[1:] - stops[:-1]
        # Touching ranges always merge, and so do ranges a small gap apart: scanning a few
        # rows outside the view costs less than another Datashader call. Beyond that,
        # split only at the largest gaps.
        split = gaps > (stops - starts).sum() // SMALL_GAP_DIVISOR
        allowed_splits = max(max_ranges - 1, 0)
        if allowed_splits == 0:
            split[:] = False
        elif int(split.sum()) > allowed_splits:
            largest = np.argpartition(gaps, gaps.size - allowed_splits)[gaps.size - allowed_splits :]
            split = np.zeros_like(split)
            split[largest] = True
        boundaries = np.flatnonzero(split)
        range_starts = np.concatenate(([starts[0]], starts[boundaries + 1]))
        range_stops = np.concatenate((stops[boundaries], [stops[-1]]))
        return np.stack([range_starts, range_stops], axis=1)
