"""How partial grids over disjoint row sets merge into the grid of their union, and finish.

A backend aggregates an image in parts (row ranges on threads, partitions on workers); each
part gives named partial grids, computed by Datashader. Counts and sums add, minima and maxima
fold, a mean is kept as a sum and a count and divided at the end, and a standard deviation as
count, sum and m2 (the sum of squared deviations from the mean), merged with Chan's pairwise
update as Datashader merges its own. Each reduction kind names its :class:`Combine` in
:data:`pipeline.reduction.REDUCTION_KINDS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import datashader as ds
import numpy as np
import numpy.typing as npt

__all__ = ["ADD", "MAX", "MEAN", "MIN", "MOMENTS", "Combine", "Partials"]

Grid = npt.NDArray[Any]
Partials = dict[str, Grid]


class Combine:
    """Adds partial grids (NaN in a float grid means "no rows" there, not "unknown")."""

    def partials(
        self, name: str, column: str | None, whole: ds.reductions.Reduction
    ) -> dict[str, ds.reductions.Reduction]:
        """The Datashader reductions of one part, by name; by default the whole reduction."""
        return {name: whole}

    def arrived(self, parts: Partials) -> Partials:
        """One part's grids, as Datashader gives them, in the form :meth:`fold` merges."""
        return parts

    def fold(self, into: Partials, parts: Partials) -> None:
        """Merge ``parts`` (arrived) into ``into``; the first part is taken over, not copied
        (partial grids are new arrays, each merged once)."""
        if into:
            self.merge(into, parts)
        else:
            into.update(parts)

    def merge(self, into: Partials, parts: Mapping[str, Grid]) -> None:
        for name, values in parts.items():
            target = into[name]
            if target.dtype.kind == "f":
                both_empty = np.isnan(target) & np.isnan(values)
                np.add(np.nan_to_num(target, nan=0.0), np.nan_to_num(values, nan=0.0), out=target)
                target[both_empty] = np.nan
            else:
                np.add(target, values, out=target)

    def finish(self, name: str, merged: Partials) -> Grid:
        """The reduction's grid from its merged partial grids."""
        return merged[name]


class Extreme(Combine):
    """Keeps the smaller (or larger) value of each pixel; NaN only where both parts are NaN."""

    def __init__(self, keep: np.ufunc) -> None:
        self.keep = keep

    def merge(self, into: Partials, parts: Mapping[str, Grid]) -> None:
        for name, values in parts.items():
            self.keep(into[name], values, out=into[name])


class Mean(Combine):
    """A sum grid and a count grid that add, divided at the end."""

    def partials(
        self, name: str, column: str | None, whole: ds.reductions.Reduction
    ) -> dict[str, ds.reductions.Reduction]:
        return {"sum": ds.sum(column), "count": ds.count(column)}

    def finish(self, name: str, merged: Partials) -> Grid:
        counts = merged["count"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, merged["sum"].astype(np.float64) / counts, np.nan)


class Moments(Combine):
    """Count, sum and m2 grids merged with Chan's pairwise update; the population standard
    deviation at the end."""

    def partials(
        self, name: str, column: str | None, whole: ds.reductions.Reduction
    ) -> dict[str, ds.reductions.Reduction]:
        # var becomes m2 = var * count as each part arrives
        return {"count": ds.count(column), "sum": ds.sum(column), "var": ds.var(column)}

    def arrived(self, parts: Partials) -> Partials:
        """Count, sum and m2 grids (no rows: 0, 0, 0) from Datashader's count, sum and var grids."""
        count = parts["count"].astype(np.float64)
        return {
            "count": count,
            "sum": np.nan_to_num(parts["sum"].astype(np.float64), nan=0.0),
            "m2": np.nan_to_num(parts["var"].astype(np.float64), nan=0.0) * count,
        }

    def merge(self, into: Partials, parts: Mapping[str, Grid]) -> None:
        n_a, n_b = into["count"], parts["count"]
        n = n_a + n_b
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = np.where((n_a > 0) & (n_b > 0), parts["sum"] / n_b - into["sum"] / n_a, 0.0)
            into["m2"] += parts["m2"] + np.where(n > 0, delta * delta * n_a * n_b / n, 0.0)
        into["sum"] += parts["sum"]
        into["count"] = n

    def finish(self, name: str, merged: Partials) -> Grid:
        n = merged["count"].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, np.sqrt(merged["m2"].astype(np.float64) / n), np.nan)


ADD = Combine()
MIN = Extreme(np.fmin)
MAX = Extreme(np.fmax)
MEAN = Mean()
MOMENTS = Moments()
