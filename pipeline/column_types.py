"""How a file's columns become the frame's: numbers stay numbers, text and booleans become categories.

- A numeric column keeps its values (integers with missing values become float64 with NaN, as
  Datashader treats NaN: skipped by sum, mean, min, max and std).
- A text column whose cells are almost all numbers ("NA", "-" or "" among them) is read as
  numbers; the other cells become missing, and the log says how many.
- Any other text column, and a boolean one, becomes a category: its codes plus its levels.
  Missing and empty cells are a level of their own, :data:`MISSING_LEVEL`. A column of more levels than
  ``max_levels`` keeps its ``max_levels - 1`` most frequent ones (by rows) and gathers the rest
  into :data:`OTHER_LEVEL`; the log says how many levels were folded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_MAX_LEVELS",
    "MISSING_LEVEL",
    "OTHER_LEVEL",
    "TEXT_AS_MISSING",
    "ReadColumn",
    "read_column",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_LEVELS = 20  # levels a legend can show, "other" included
MISSING_LEVEL = "(missing)"
OTHER_LEVEL = "(other)"
# at most this fraction of a text column's filled cells may fail to read as numbers for the column
# to be read as numbers (those cells become missing)
TEXT_AS_MISSING = 0.05


@dataclass(frozen=True, eq=False)
class ReadColumn:
    """A column as the frame holds it, and what reading it changed (for the log)."""

    values: pd.Series
    note: str | None = None


def _as_numbers(name: str, column: pd.Series) -> ReadColumn | None:
    """``column`` (text) read as numbers, if almost all of its filled cells are; else None."""
    filled = column.notna() & (column.astype("string").str.strip() != "")
    numbers = pd.to_numeric(column.where(filled), errors="coerce")
    failed = int((filled & numbers.isna()).sum())
    if not filled.any() or failed > TEXT_AS_MISSING * int(filled.sum()):
        return None
    note = f"column {name!r}: {failed:,} cells that are not numbers read as missing" if failed else None
    return ReadColumn(numbers.astype(np.float64), note)


def _as_category(name: str, column: pd.Series, max_levels: int) -> ReadColumn:
    """``column`` as a category of at most ``max_levels`` levels, missing cells a level of their own."""
    text = column.astype("string")
    text = text.mask(text.str.strip() == "").fillna(MISSING_LEVEL)  # an empty cell is a missing one
    counts = text.value_counts(sort=True)
    note = None
    if len(counts) > max_levels:
        kept = counts.index[: max_levels - 1]
        folded = len(counts) - len(kept)
        text = text.where(text.isin(kept), OTHER_LEVEL)
        note = (
            f"column {name!r}: {len(counts):,} levels, more than --max-levels {max_levels}; "
            f"the {folded:,} least frequent ({int(counts.iloc[max_levels - 1 :].sum()):,} rows) "
            f"read as {OTHER_LEVEL!r}"
        )
    levels = sorted(set(text.unique()))
    return ReadColumn(pd.Series(pd.Categorical(text, categories=levels), index=column.index), note)


def read_column(name: str, column: pd.Series, max_levels: int = DEFAULT_MAX_LEVELS) -> ReadColumn:
    """``column`` of a file as the frame holds it (see the module's notes)."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _as_category(name, column.map({True: "true", False: "false"}), max_levels)
    if isinstance(dtype, pd.CategoricalDtype):
        return _as_category(name, column.astype("object"), max_levels)
    if pd.api.types.is_numeric_dtype(dtype):
        if pd.api.types.is_extension_array_dtype(dtype):  # nullable: missing becomes NaN
            return ReadColumn(column.astype(np.float64))
        return ReadColumn(column)
    if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return _as_numbers(name, column) or _as_category(name, column, max_levels)
    return ReadColumn(column)
