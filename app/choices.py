"""What a viewer chooses about the image, and how the page's address carries it.

The address names the view (``x0``, ``x1``, ``y0``, ``y1``, read by
:meth:`pipeline.Viewport.from_query`) and the choices: ``agg`` (the reduction), ``column``,
``cmap`` (a colour map of :data:`app.mapper.COLORMAPS`), ``norm`` (a normalisation of
:data:`app.mapper.NORMALIZATIONS`) and ``spread`` (of :data:`app.spreading.SPREADS`). The page
rewrites its address after each gesture and each choice (:data:`KEEP_IN_ADDRESS`), so that
copying it shares what is on screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline import Reduction
from pipeline.reduction import CATEGORY_REDUCTIONS, COLUMN_REDUCTIONS

from .mapper import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALIZATION, NORMALIZATIONS
from .spreading import DEFAULT_SPREAD, SPREADS

# A CustomJS callback on the plot's RangesUpdate and on each choice's Select.
KEEP_IN_ADDRESS = """
const params = new URLSearchParams(window.location.search)
params.set("x0", String(x_range.start))
params.set("x1", String(x_range.end))
params.set("y0", String(y_range.start))
params.set("y1", String(y_range.end))
params.set("agg", reduction.value)
if (column.value != null)
    params.set("column", column.value)
else
    params.delete("column")
params.set("cmap", colormap.value)
params.set("norm", normalization.value)
params.set("spread", spread.value)
window.history.replaceState(null, "", "?" + params.toString())
"""


def reduction_names(numeric: Sequence[str], categorical: Sequence[str] = ()) -> list[str]:
    """The reductions a table with these ``numeric`` and ``categorical`` columns offers."""
    return [
        "count",
        *(sorted(COLUMN_REDUCTIONS) if numeric else []),
        *(sorted(CATEGORY_REDUCTIONS) if categorical else []),
    ]


REDUCTION_LABELS = {"count_by": "count by category"}


def reduction_options(numeric: Sequence[str], categorical: Sequence[str] = ()) -> list[str | tuple[str, str]]:
    """The reduction Select's options: a name, or a name and its label where they differ."""
    return [
        (name, REDUCTION_LABELS[name]) if name in REDUCTION_LABELS else name
        for name in reduction_names(numeric, categorical)
    ]


def needs_column(agg: str) -> bool:
    """Whether the reduction ``agg`` reads a column."""
    return agg in COLUMN_REDUCTIONS or agg in CATEGORY_REDUCTIONS


def columns_for(agg: str, numeric: Sequence[str], categorical: Sequence[str]) -> list[str]:
    """The columns the reduction ``agg`` can read: categorical ones for ``count_by``, else numeric."""
    return list(categorical if agg in CATEGORY_REDUCTIONS else numeric)


@dataclass(frozen=True, slots=True)
class Choices:
    """The values of the controls above the plot (``column`` is kept even for count)."""

    agg: str
    column: str | None
    colormap: str = DEFAULT_COLORMAP
    normalization: str = DEFAULT_NORMALIZATION
    spread: str = DEFAULT_SPREAD

    @property
    def reduction(self) -> Reduction:
        return Reduction(self.agg, self.column if needs_column(self.agg) else None)


def choices_from_query(
    arguments: Mapping[str, str], numeric: Sequence[str], categorical: Sequence[str] = ()
) -> tuple[Choices, list[str]]:
    """The choices named in a page's address, and a problem for each value that was ignored.

    ``numeric`` and ``categorical`` are the table's columns of each kind; the first numeric
    one is the default column. An unknown value, or a reduction whose column the address does
    not give or names wrongly, falls back to the default, with a problem that names the value
    and the valid ones.
    """
    problems: list[str] = []
    names = reduction_names(numeric, categorical)
    agg = arguments.get("agg", "count")
    if agg not in names:
        problems.append(f"agg={agg!r} in the address is not one of {names}; showing count")
        agg = "count"
    column = arguments.get("column")
    # count reads no column, but the page keeps the last one chosen: either kind will do
    valid = columns_for(agg, numeric, categorical) if needs_column(agg) else [*numeric, *categorical]
    kind = (
        "categorical"
        if agg in CATEGORY_REDUCTIONS
        else "numeric"
        if needs_column(agg)
        else "numeric or categorical"
    )
    if column is not None and column not in valid:
        instead = "showing count" if needs_column(agg) else "ignoring it"
        problems.append(
            f"column={column!r} in the address is not a {kind} column; expected one of {valid}; {instead}"
        )
        agg, column = "count", None
    elif column is None and needs_column(agg):
        problems.append(
            f"agg={agg!r} in the address needs a column; expected column= one of {valid}; showing count"
        )
        agg = "count"
    default_column = numeric[0] if numeric else (categorical[0] if categorical else None)
    colormap = arguments.get("cmap", DEFAULT_COLORMAP)
    if colormap not in COLORMAPS:
        problems.append(
            f"cmap={colormap!r} in the address is not one of {list(COLORMAPS)}; showing {DEFAULT_COLORMAP!r}"
        )
        colormap = DEFAULT_COLORMAP
    normalization = arguments.get("norm", DEFAULT_NORMALIZATION)
    if normalization not in NORMALIZATIONS:
        problems.append(
            f"norm={normalization!r} in the address is not one of {list(NORMALIZATIONS)}; "
            f"showing {DEFAULT_NORMALIZATION!r}"
        )
        normalization = DEFAULT_NORMALIZATION
    spread = arguments.get("spread", DEFAULT_SPREAD)
    if spread not in SPREADS:
        problems.append(
            f"spread={spread!r} in the address is not one of {list(SPREADS)}; showing {DEFAULT_SPREAD!r}"
        )
        spread = DEFAULT_SPREAD
    return Choices(agg, column or default_column, colormap, normalization, spread), problems
