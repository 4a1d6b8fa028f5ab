"""The default backend: the index's row ranges of the process's frame, aggregated on its threads.

The index returns row ranges that hold every row in view (a superset; Datashader filters the
rest). Few candidate rows are copied into one small frame and aggregated in one call; many are
split across threads, and the partial grids merged as the reduction's kind says.
"""

from __future__ import annotations

from concurrent.futures import Executor

import datashader as ds
import numpy as np
import numpy.typing as npt
import pandas as pd

from .aggregate import Backend, GridQuery
from .index import RowRanges, SpatialIndex
from .partials import Partials
from .reduction import Reduction
from .viewport import Viewport

__all__ = ["GATHER_MAX_ROWS", "RowRangeBackend", "split_ranges"]

# Below this many candidate rows, copying them into one frame beats one Datashader call
# per range (each call costs about 2 ms of fixed overhead).
GATHER_MAX_ROWS = 1_000_000
# Upper bound on ranges (so Datashader calls) per image and thread.
RANGES_PER_THREAD = 6


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


def _take(column: pd.Series, ranges: RowRanges) -> npt.NDArray[np.generic] | pd.Categorical:
    """The values of ``column`` in ``ranges``, concatenated (categoricals stay categorical)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.array.codes
        return pd.Categorical.from_codes(
            np.concatenate([codes[start:stop] for start, stop in ranges]), dtype=column.dtype, validate=False
        )
    values = column.to_numpy()
    return np.concatenate([values[start:stop] for start, stop in ranges])


class RowRangeBackend(Backend):
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
        super().__init__(frame.dtypes, x, y)
        self.frame = frame
        self.index = index
        self.pool = pool
        self.threads = max(1, threads) if pool is not None else 1
        self.gather_max_rows = gather_max_rows
        self._column_frames: dict[tuple[str, ...], pd.DataFrame] = {}

    def _frame_of(self, columns: list[str]) -> pd.DataFrame:
        frame = self._column_frames.get(tuple(columns))
        if frame is None:
            frame = self.frame[columns]
            self._column_frames[tuple(columns)] = frame
        return frame

    def grid(self, query: GridQuery) -> tuple[npt.NDArray[np.generic], int]:
        frame = self._frame_of(query.columns)
        ranges = self.ranges_in(query.viewport)
        rows = int((ranges[:, 1] - ranges[:, 0]).sum())
        cvs, reduction = query.canvas, query.reduction
        if len(ranges) == 0:
            grid = self._points(cvs, frame.iloc[0:0], reduction)
        elif len(ranges) == 1 and rows <= self.gather_max_rows:
            grid = self._points(cvs, frame.iloc[int(ranges[0, 0]) : int(ranges[0, 1])], reduction)
        elif rows <= self.gather_max_rows:
            gathered = pd.DataFrame({name: _take(frame[name], ranges) for name in frame.columns}, copy=False)
            grid = self._points(cvs, gathered, reduction)
        else:
            grid = self._points_in_ranges(cvs, frame, ranges, reduction)
        return grid, rows

    def ranges_in(self, viewport: Viewport) -> RowRanges:
        """Row ranges holding every row in ``viewport`` (all rows without an index)."""
        if self.index is None:
            return np.array([[0, len(self.frame)]], dtype=np.int64)
        return self.index.row_ranges(viewport, RANGES_PER_THREAD * self.threads)

    def _points(self, cvs: ds.Canvas, frame: pd.DataFrame, reduction: Reduction) -> npt.NDArray[np.generic]:
        # The same Datashader reductions as for many ranges, so each kernel compiles once.
        merged = self._partials(cvs, frame, np.array([[0, len(frame)]]), reduction)
        return reduction.combine.finish(reduction.name, merged)

    def _partials(
        self, cvs: ds.Canvas, frame: pd.DataFrame, ranges: RowRanges, reduction: Reduction
    ) -> Partials:
        """Merged partial grids of one group of ranges, computed in the calling thread."""
        merged: Partials = {}
        summary = ds.summary(**reduction.partial_datashader())
        for start, stop in ranges.tolist():
            result = cvs.points(frame.iloc[start:stop], self.x, self.y, agg=summary)
            parts = {str(name): part.values for name, part in result.data_vars.items()}
            reduction.combine.fold(merged, reduction.combine.arrived(parts))
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
            reduction.combine.fold(merged, future.result())
        return reduction.combine.finish(reduction.name, merged)
