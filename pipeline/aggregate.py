"""Aggregating the rows in a viewport into a grid with Datashader, using the index and both cores.

Datashader does every aggregation; this module only chooses which rows it sees:
the row ranges the index returns (a superset of the rows in view), copied into one small
frame when there are few of them, or split across threads when there are many, with the
partial grids merged as the reduction allows (counts and sums add, minima and maxima fold).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Protocol

import datashader as ds
import numpy as np
import numpy.typing as npt
import pandas as pd

from .index import RowRanges, SpatialIndex
from .packing import PackedGrid
from .reduction import Combine, Reduction
from .viewport import Canvas, Viewport

__all__ = [
    "GATHER_MAX_ROWS",
    "Aggregate",
    "Aggregator",
    "GridAggregator",
    "compact_grid",
    "datashader_canvas",
    "split_ranges",
]

# Below this many candidate rows, copying them into one frame beats one Datashader call
# per range (each call costs about 2 ms of fixed overhead).
GATHER_MAX_ROWS = 1_000_000
# Upper bound on ranges (so Datashader calls) per image and thread.
RANGES_PER_THREAD = 6


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


class GridAggregator(Protocol):
    """Anything that turns a viewport, canvas and reduction into the grid Datashader would give."""

    schema: pd.Series

    def aggregate(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Aggregate:
        """The grid of ``reduction`` over the rows in ``viewport``."""


def datashader_canvas(viewport: Viewport, canvas: Canvas) -> ds.Canvas:
    """Datashader's canvas for ``canvas`` pixels over ``viewport`` (both ranges closed)."""
    return ds.Canvas(
        plot_width=canvas.width,
        plot_height=canvas.height,
        x_range=(viewport.x0, viewport.x1),
        y_range=(viewport.y0, viewport.y1),
    )


def compact_grid(grid: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    """The same values in the smallest unsigned dtype that holds them (counts only)."""
    if grid.dtype.kind != "u" or grid.size == 0:
        return grid
    peak = int(grid.max())
    for dtype in (np.uint8, np.uint16, np.uint32):
        if peak <= np.iinfo(dtype).max:
            return grid.astype(dtype, copy=False)
    return grid


def split_ranges(ranges: RowRanges, parts: int) -> list[RowRanges]:
    """Cut ``ranges`` into at most ``parts`` groups holding about equal numbers of rows."""
    lengths = ranges[:, 1] - ranges[:, 0]
    total = int(lengths.sum())
    if parts <= 1 or total == 0:
        return [ranges]
    groups: list[list[tuple[int, int]]] = [[] for _ in range(parts)]
    target = -(-total // parts)
    part, filled = 0, 0
    for start, stop in ranges.tolist():
        while start < stop:
            take = min(stop - start, target - filled) if part < parts - 1 else stop - start
            groups[part].append((start, start + take))
            start += take
            filled += take
            if filled >= target and part < parts - 1:
                part, filled = part + 1, 0
    return [np.array(group, dtype=np.int64) for group in groups if group]


def _merge(combine: Combine, into: npt.NDArray[np.generic], part: npt.NDArray[np.generic]) -> None:
    if combine is Combine.MIN:
        np.fmin(into, part, out=into)
    elif combine is Combine.MAX:
        np.fmax(into, part, out=into)
    elif into.dtype.kind == "f":  # float sums: NaN means "no rows", not "unknown"
        both_empty = np.isnan(into) & np.isnan(part)
        np.add(np.nan_to_num(into, nan=0.0), np.nan_to_num(part, nan=0.0), out=into)
        into[both_empty] = np.nan
    else:
        np.add(into, part, out=into)


def _moments(parts: Mapping[str, npt.NDArray[np.generic]]) -> dict[str, npt.NDArray[np.float64]]:
    """Count, sum and m2 grids (no rows: 0, 0, 0) from Datashader's count, sum and var grids."""
    count = parts["count"].astype(np.float64)
    return {
        "count": count,
        "sum": np.nan_to_num(parts["sum"].astype(np.float64), nan=0.0),
        "m2": np.nan_to_num(parts["var"].astype(np.float64), nan=0.0) * count,
    }


def _merge_moments(
    into: dict[str, npt.NDArray[np.float64]], part: Mapping[str, npt.NDArray[np.float64]]
) -> None:
    """Chan's pairwise update: the count, sum and m2 grids of the union of two row sets."""
    n_a, n_b = into["count"], part["count"]
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = np.where((n_a > 0) & (n_b > 0), part["sum"] / n_b - into["sum"] / n_a, 0.0)
        into["m2"] += part["m2"] + np.where(n > 0, delta * delta * n_a * n_b / n, 0.0)
    into["sum"] += part["sum"]
    into["count"] = n


def _merge_partials(
    combine: Combine, into: dict[str, npt.NDArray[np.generic]], parts: Mapping[str, npt.NDArray[np.generic]]
) -> None:
    """Fold named partial grids into ``into``; a grid seen for the first time is taken over, not
    copied (partial grids are new arrays, each merged once)."""
    if combine is Combine.MOMENTS and into:
        _merge_moments(into, parts)  # type: ignore[arg-type]
        return
    for name, values in parts.items():
        if name in into:
            _merge(combine.of_partials, into[name], values)
        else:
            into[name] = values


class Aggregator:
    """Aggregates one read-only frame, optionally sorted and indexed by :class:`SpatialIndex`."""

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        x: str,
        y: str,
        index: SpatialIndex | None,
        pool: Executor | None,
        threads: int = 2,
        gather_max_rows: int = GATHER_MAX_ROWS,
    ) -> None:
        self.frame = frame
        self.x = x
        self.y = y
        self.index = index
        self.pool = pool
        self.threads = max(1, threads) if pool is not None else 1
        self.gather_max_rows = gather_max_rows
        self.schema = frame.dtypes
        self._column_frames: dict[tuple[str, ...], pd.DataFrame] = {}

    def _frame_for(self, reduction: Reduction) -> pd.DataFrame:
        columns = (self.x, self.y, *(c for c in reduction.columns if c not in (self.x, self.y)))
        frame = self._column_frames.get(columns)
        if frame is None:
            frame = self.frame[list(columns)]
            self._column_frames[columns] = frame
        return frame

    def row_ranges(self, viewport: Viewport) -> RowRanges:
        """Row ranges holding every row in ``viewport`` (all rows without an index)."""
        if self.index is None:
            return np.array([[0, len(self.frame)]], dtype=np.int64)
        return self.index.row_ranges(viewport, RANGES_PER_THREAD * self.threads)

    def aggregate(self, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> Aggregate:
        """The grid Datashader gives for ``viewport`` on the whole frame, computed on fewer rows."""
        reduction.validate(self.schema)
        started = time.perf_counter()
        frame = self._frame_for(reduction)
        ranges = self.row_ranges(viewport)
        lengths = ranges[:, 1] - ranges[:, 0]
        rows = int(lengths.sum())
        cvs = datashader_canvas(viewport, canvas)
        if len(ranges) == 0:
            grid = self._points(cvs, frame.iloc[0:0], reduction)
        elif len(ranges) == 1 and rows <= self.gather_max_rows:
            grid = self._points(cvs, frame.iloc[int(ranges[0, 0]) : int(ranges[0, 1])], reduction)
        elif rows <= self.gather_max_rows:
            gathered = pd.DataFrame({name: _take(frame[name], ranges) for name in frame.columns}, copy=False)
            grid = self._points(cvs, gathered, reduction)
        else:
            grid = self._points_in_ranges(cvs, frame, ranges, reduction)
        return Aggregate(grid, viewport, canvas, reduction, rows, time.perf_counter() - started)

    def _points(self, cvs: ds.Canvas, frame: pd.DataFrame, reduction: Reduction) -> npt.NDArray[np.generic]:
        # The same Datashader reductions as for many ranges, so each kernel compiles once.
        return _finish(reduction, self._partials(cvs, frame, np.array([[0, len(frame)]]), reduction))

    def _partials(
        self, cvs: ds.Canvas, frame: pd.DataFrame, ranges: RowRanges, reduction: Reduction
    ) -> dict[str, npt.NDArray[np.generic]]:
        """Merged partial grids of one group of ranges, computed in the calling thread."""
        merged: dict[str, npt.NDArray[np.generic]] = {}
        for start, stop in ranges.tolist():
            result = cvs.points(
                frame.iloc[start:stop], self.x, self.y, agg=ds.summary(**reduction.partial_datashader())
            )
            parts = {str(name): part.values for name, part in result.data_vars.items()}
            if reduction.combine is Combine.MOMENTS:
                parts = _moments(parts)
            _merge_partials(reduction.combine, merged, parts)
        return merged

    def _points_in_ranges(
        self, cvs: ds.Canvas, frame: pd.DataFrame, ranges: RowRanges, reduction: Reduction
    ) -> npt.NDArray[np.generic]:
        groups = split_ranges(ranges, self.threads)
        futures = (
            [self.pool.submit(self._partials, cvs, frame, g, reduction) for g in groups[1:]]
            if self.pool
            else []
        )
        merged = self._partials(cvs, frame, groups[0], reduction)
        for future in futures:
            _merge_partials(reduction.combine, merged, future.result())
        return _finish(reduction, merged)


def _take(column: pd.Series, ranges: RowRanges) -> npt.NDArray[np.generic] | pd.Categorical:
    """The values of ``column`` in ``ranges``, concatenated (categoricals stay categorical)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.array.codes
        return pd.Categorical.from_codes(
            np.concatenate([codes[start:stop] for start, stop in ranges]), dtype=column.dtype, validate=False
        )
    values = column.to_numpy()
    return np.concatenate([values[start:stop] for start, stop in ranges])


def _finish(reduction: Reduction, merged: dict[str, npt.NDArray[np.generic]]) -> npt.NDArray[np.generic]:
    """The reduction's grid from its merged partial grids (a mean divides its sum by its count)."""
    if reduction.combine is Combine.MEAN:
        counts = merged["count"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, merged["sum"].astype(np.float64) / counts, np.nan)
    if reduction.combine is Combine.MOMENTS:
        n = merged["count"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, np.sqrt(merged["m2"].astype(np.float64) / n), np.nan)
    return merged[reduction.name]
