"""What a pixel holds: a small value object naming a Datashader reduction and its column."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import datashader as ds
import pandas as pd

from .errors import ReductionError

__all__ = [
    "CATEGORY_REDUCTIONS",
    "COLUMN_REDUCTIONS",
    "REDUCTIONS",
    "Combine",
    "Reduction",
    "categorical_columns",
    "numeric_columns",
]


class Combine(Enum):
    """How partial grids over disjoint row sets merge into the grid of their union."""

    ADD = "add"
    MIN = "min"
    MAX = "max"
    MEAN = "mean"  # kept as a sum grid and a count grid, divided at the end
    # kept as count, sum and m2 (the sum of squared deviations from the mean) grids, merged
    # with Chan's pairwise update, as Datashader merges its own
    MOMENTS = "moments"

    @property
    def of_partials(self) -> Combine:
        """How the partial grids themselves merge (a mean's sum and count grids add)."""
        return Combine.ADD if self is Combine.MEAN else self


# reduction name -> how its partial grids merge
REDUCTIONS: dict[str, Combine] = {
    "count": Combine.ADD,
    "sum": Combine.ADD,
    "min": Combine.MIN,
    "max": Combine.MAX,
    "mean": Combine.MEAN,
    "std": Combine.MOMENTS,
    "count_by": Combine.ADD,  # one count per category: a (height, width, categories) grid
}
COLUMN_REDUCTIONS = frozenset({"sum", "min", "max", "mean", "std"})
CATEGORY_REDUCTIONS = frozenset({"count_by"})


@dataclass(frozen=True, slots=True)
class Reduction:
    """A reduction name plus the column it reads: none for ``count``, a numeric one for ``sum``,
    ``mean``, ``min``, ``max`` and ``std`` (population standard deviation, as Datashader's),
    a categorical one for ``count_by``."""

    name: str = "count"
    column: str | None = None

    def __post_init__(self) -> None:
        if self.name not in REDUCTIONS:
            raise ReductionError(f"unknown reduction {self.name!r}; expected one of {sorted(REDUCTIONS)}")
        if self.name in COLUMN_REDUCTIONS and self.column is None:
            raise ReductionError(f"reduction {self.name!r} needs a numeric column")
        if self.name in CATEGORY_REDUCTIONS and self.column is None:
            raise ReductionError(f"reduction {self.name!r} needs a categorical column")
        if self.name == "count" and self.column is not None:
            raise ReductionError(f"reduction {self.name!r} takes no column, got column={self.column!r}")

    @property
    def combine(self) -> Combine:
        return REDUCTIONS[self.name]

    @property
    def columns(self) -> tuple[str, ...]:
        return () if self.column is None else (self.column,)

    def validate(self, schema: pd.Series) -> None:
        """Check the column against a frame's ``dtypes`` before any row is touched."""
        if self.column is None:
            return
        if self.name in CATEGORY_REDUCTIONS:
            if self.column not in categorical_columns(schema):
                raise ReductionError(
                    f"column {self.column!r} for reduction {self.name!r} is not categorical; "
                    f"categorical columns are {categorical_columns(schema)}"
                )
            return
        if self.column not in schema.index:
            raise ReductionError(
                f"unknown column {self.column!r} for reduction {self.name!r}; "
                f"numeric columns are {numeric_columns(schema)}"
            )
        if self.column not in numeric_columns(schema):
            raise ReductionError(
                f"column {self.column!r} has dtype {schema[self.column]}, not numeric; "
                f"numeric columns are {numeric_columns(schema)}"
            )

    def to_datashader(self) -> ds.reductions.Reduction:
        """The Datashader reduction that computes this grid on one set of rows."""
        if self.name == "count":
            return ds.count()
        if self.name == "count_by":
            return ds.by(self.column, ds.count())
        reduction: ds.reductions.Reduction = getattr(ds, self.name)(self.column)
        return reduction

    def partial_datashader(self) -> dict[str, ds.reductions.Reduction]:
        """Datashader reductions whose grids merge across row sets into this one."""
        if self.combine is Combine.MEAN:
            return {"sum": ds.sum(self.column), "count": ds.count(self.column)}
        if self.combine is Combine.MOMENTS:  # var becomes m2 = var * count as each grid arrives
            return {"count": ds.count(self.column), "sum": ds.sum(self.column), "var": ds.var(self.column)}
        return {self.name: self.to_datashader()}

    def __str__(self) -> str:
        return self.name if self.column is None else f"{self.name}({self.column})"


def categorical_columns(schema: pd.Series) -> list[str]:
    """Names of the categorical columns in a frame's ``dtypes``."""
    return [str(name) for name, dtype in schema.items() if isinstance(dtype, pd.CategoricalDtype)]


def numeric_columns(schema: pd.Series) -> list[str]:
    """Names of the numeric (non-boolean) columns in a frame's ``dtypes``."""
    return [
        str(name)
        for name, dtype in schema.items()
        if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ]
