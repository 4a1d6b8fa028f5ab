"""A loaded table ready to aggregate: rows (sorted by the index when there is one) and its extent."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import SourceError
from .index import SpatialIndex, finite_extent
from .viewport import Viewport

__all__ = ["PreparedTable", "prepare_table"]


@dataclass(frozen=True, eq=False)
class PreparedTable:
    """Rows plus what the store needs to aggregate them: the index and the finite extent."""

    frame: pd.DataFrame
    x: str
    y: str
    index: SpatialIndex | None
    extent: Viewport

    @property
    def rows(self) -> int:
        return len(self.frame)


def prepare_table(frame: pd.DataFrame, x: str, y: str, *, indexed: bool, name: str) -> PreparedTable:
    """Sort ``frame`` by a spatial index (when ``indexed``) and find its finite extent.

    ``frame`` is consumed when indexed: its columns move into the sorted frame one by one.
    """
    index: SpatialIndex | None = None
    if indexed:
        frame, index = SpatialIndex.sort_frame(frame, x, y)
        extent = index.extent
    else:
        extent = finite_extent(frame[x].to_numpy(), frame[y].to_numpy())
    if extent is None:
        raise SourceError(f"no row of {name} has finite values in both {x!r} and {y!r}")
    return PreparedTable(frame, x, y, index, extent)
