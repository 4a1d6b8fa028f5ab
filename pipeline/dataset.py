"""What a loaded process holds and says about itself: the dataset, and the loading status."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pandas as pd

from .aggregate import Backend
from .index import SpatialIndex
from .reduction import ColumnKind, Reduction, offered_kinds
from .viewport import Viewport

__all__ = ["Dataset", "LoadState", "LoadStatus", "home_viewport"]


class LoadState(Enum):
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LoadStatus:
    """A snapshot of loading, for progress pages."""

    state: LoadState
    phase: str
    rows: int
    fraction: float
    description: str
    error: str | None = None

    def message(self) -> str:
        if self.state is LoadState.FAILED:
            return f"Loading {self.description} failed: {self.error}"
        if self.state is LoadState.READY:
            return f"{self.description}: {self.rows:,} {'row' if self.rows == 1 else 'rows'} ready"
        return f"{self.phase} {self.description}: {self.rows:,} rows ({self.fraction:.0%})"


def home_viewport(extent: Viewport) -> Viewport:
    """The initial view: the data's extent, widened where it has no width."""
    x0, x1, y0, y1 = extent.x0, extent.x1, extent.y0, extent.y1
    if not x1 > x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    if not y1 > y0:
        y0, y1 = y0 - 0.5, y1 + 0.5
    return Viewport.from_ranges(x0, x1, y0, y1)


@dataclass(frozen=True, eq=False)
class Dataset:
    """The loaded rows (sorted by the index when there is one) and the backend that aggregates them."""

    frame: pd.DataFrame
    x: str
    y: str
    index: SpatialIndex | None
    extent: Viewport
    backend: Backend
    load_seconds: float
    from_cache: bool

    @property
    def rows(self) -> int:
        return len(self.frame)

    def columns_of(self, kind: ColumnKind) -> list[str]:
        """The columns a reduction reading ``kind`` may read (never x or y)."""
        return [c for c in kind.columns(self.frame.dtypes) if c not in (self.x, self.y)]

    @property
    def numeric_columns(self) -> list[str]:
        return self.columns_of(ColumnKind.NUMERIC)

    @property
    def categorical_columns(self) -> list[str]:
        return self.columns_of(ColumnKind.CATEGORICAL)

    def categories(self, column: str) -> list[str]:
        """The labels of a categorical column, in the order of a ``count_by`` grid's last axis."""
        return [str(label) for label in self.frame[column].cat.categories]

    def offered_reductions(self) -> list[Reduction]:
        """Every reduction the page offers: each offered kind over each column it can read."""
        kinds = [kind for kind in (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL) if self.columns_of(kind)]
        return [
            Reduction(kind.name, column)
            for kind in offered_kinds(kinds)
            for column in (self.columns_of(kind.column_kind) if kind.needs_column else [None])
        ]

    @property
    def nbytes(self) -> int:
        return int(self.frame.memory_usage(deep=False).sum()) + (self.index.nbytes if self.index else 0)
