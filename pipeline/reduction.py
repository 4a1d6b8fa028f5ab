"""What a pixel holds: the registry of reduction kinds, and a small value object naming one.

Each kind declares here, once, everything the rest of the code asks about it: the column it
reads, its label, the Datashader reduction that computes it on one set of rows, how partial
grids over disjoint row sets merge and finish (:mod:`pipeline.partials`), and whether the page
colours its grid or the server shades it. Nothing else compares reduction names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import datashader as ds
import pandas as pd

from .errors import ReductionError
from .partials import ADD, MAX, MEAN, MIN, MOMENTS, Combine

__all__ = [
    "REDUCTION_KINDS",
    "ColumnKind",
    "Reduction",
    "ReductionKind",
    "categorical_columns",
    "numeric_columns",
    "offered_kinds",
]


class ColumnKind(Enum):
    """The kind of column a reduction reads."""

    NONE = "none"
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"

    def columns(self, schema: pd.Series) -> list[str]:
        """The columns of this kind in a frame's ``dtypes``."""
        if self is ColumnKind.CATEGORICAL:
            return categorical_columns(schema)
        if self is ColumnKind.NUMERIC:
            return numeric_columns(schema)
        return []


@dataclass(frozen=True)
class ReductionKind:
    """One kind of reduction, as every part of the app sees it."""

    name: str
    label: str  # in the page's select
    column_kind: ColumnKind
    datashader: Callable[[str | None], ds.reductions.Reduction]  # the whole reduction on one set of rows
    combine: Combine
    # the grid is the number of rows per pixel: min-count blanking, box counts and histograms
    # read it as it is
    counts_rows: bool = False
    # the server shades the grid into RGBA (a colour per category); the page colours the others
    shaded_on_server: bool = False
    # what the hover reads out of the page's grid, when it is not the reduction's own value
    read_out_as: str | None = None

    @property
    def needs_column(self) -> bool:
        return self.column_kind is not ColumnKind.NONE

    @property
    def counts_in_page(self) -> bool:
        """The page's grid counts rows per pixel (a count, or a shaded image's totals)."""
        return self.counts_rows or self.shaded_on_server


def _column_reduction(name: str) -> Callable[[str | None], ds.reductions.Reduction]:
    def make(column: str | None) -> ds.reductions.Reduction:
        reduction: ds.reductions.Reduction = getattr(ds, name)(column)
        return reduction

    return make


_KINDS = (
    ReductionKind("count", "count", ColumnKind.NONE, lambda column: ds.count(), ADD, counts_rows=True),
    ReductionKind("sum", "sum", ColumnKind.NUMERIC, _column_reduction("sum"), ADD),
    ReductionKind("mean", "mean", ColumnKind.NUMERIC, _column_reduction("mean"), MEAN),
    ReductionKind("min", "min", ColumnKind.NUMERIC, _column_reduction("min"), MIN),
    ReductionKind("max", "max", ColumnKind.NUMERIC, _column_reduction("max"), MAX),
    # the population standard deviation, as Datashader's
    ReductionKind("std", "std", ColumnKind.NUMERIC, _column_reduction("std"), MOMENTS),
    ReductionKind(
        "count_by",
        "count by category",
        ColumnKind.CATEGORICAL,
        lambda column: ds.by(column, ds.count()),  # one count per category: (height, width, categories)
        ADD,
        shaded_on_server=True,
        read_out_as="rows, all categories",
    ),
)
REDUCTION_KINDS: dict[str, ReductionKind] = {kind.name: kind for kind in _KINDS}


def offered_kinds(column_kinds: Sequence[ColumnKind]) -> list[ReductionKind]:
    """The kinds a table whose columns are of ``column_kinds`` offers: count, then those of
    numeric columns by name, then those of categorical columns."""
    offered = [kind for kind in _KINDS if kind.column_kind in (ColumnKind.NONE, *column_kinds)]
    order = (ColumnKind.NONE, ColumnKind.NUMERIC, ColumnKind.CATEGORICAL)
    return sorted(offered, key=lambda kind: (order.index(kind.column_kind), kind.name))


@dataclass(frozen=True, slots=True)
class Reduction:
    """A reduction kind's name plus the column it reads: none for ``count``, a numeric one for
    ``sum``, ``mean``, ``min``, ``max`` and ``std``, a categorical one for ``count_by``."""

    name: str = "count"
    column: str | None = None

    def __post_init__(self) -> None:
        kind = REDUCTION_KINDS.get(self.name)
        if kind is None:
            raise ReductionError(
                f"unknown reduction {self.name!r}; expected one of {sorted(REDUCTION_KINDS)}"
            )
        if kind.needs_column and self.column is None:
            raise ReductionError(f"reduction {self.name!r} needs a {kind.column_kind.value} column")
        if not kind.needs_column and self.column is not None:
            raise ReductionError(f"reduction {self.name!r} takes no column, got column={self.column!r}")

    @property
    def kind(self) -> ReductionKind:
        return REDUCTION_KINDS[self.name]

    @property
    def combine(self) -> Combine:
        return self.kind.combine

    @property
    def columns(self) -> tuple[str, ...]:
        return () if self.column is None else (self.column,)

    def validate(self, schema: pd.Series) -> None:
        """Check the column against a frame's ``dtypes`` before any row is touched."""
        column_kind = self.kind.column_kind
        if self.column is None:
            return
        valid = column_kind.columns(schema)
        if column_kind is ColumnKind.CATEGORICAL:
            if self.column not in valid:
                raise ReductionError(
                    f"column {self.column!r} for reduction {self.name!r} is not categorical; "
                    f"categorical columns are {valid}"
                )
            return
        if self.column not in schema.index:
            raise ReductionError(
                f"unknown column {self.column!r} for reduction {self.name!r}; numeric columns are {valid}"
            )
        if self.column not in valid:
            raise ReductionError(
                f"column {self.column!r} has dtype {schema[self.column]}, not numeric; "
                f"numeric columns are {valid}"
            )

    def to_datashader(self) -> ds.reductions.Reduction:
        """The Datashader reduction that computes this grid on one set of rows."""
        return self.kind.datashader(self.column)

    def partial_datashader(self) -> dict[str, ds.reductions.Reduction]:
        """Datashader reductions whose grids merge across row sets into this one."""
        return self.combine.partials(self.name, self.column, self.to_datashader())

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
