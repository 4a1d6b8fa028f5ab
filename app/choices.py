"""What a viewer chooses about the image, and how the page's address carries it.

The address names the view (``x0``, ``x1``, ``y0``, ``y1``, read by
:meth:`pipeline.Viewport.from_query`) and the choices: ``agg`` (the reduction), ``column``,
``cmap`` (a colour map of :data:`app.mapper.COLORMAPS`) and ``norm`` (a normalisation of
:data:`app.mapper.NORMALIZATIONS`). The page rewrites its address after each gesture and each
choice (:data:`KEEP_IN_ADDRESS`), so that copying it shares what is on screen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline import Reduction
from pipeline.reduction import COLUMN_REDUCTIONS

from .mapper import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALIZATION, NORMALIZATIONS

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
window.history.replaceState(null, "", "?" + params.toString())
"""


def reduction_names(columns: Sequence[str]) -> list[str]:
    """The reductions a table with these numeric ``columns`` offers."""
    return ["count", *sorted(COLUMN_REDUCTIONS)] if columns else ["count"]


@dataclass(frozen=True, slots=True)
class Choices:
    """The values of the controls above the plot (``column`` is kept even for count)."""

    agg: str
    column: str | None
    colormap: str = DEFAULT_COLORMAP
    normalization: str = DEFAULT_NORMALIZATION

    @property
    def reduction(self) -> Reduction:
        return Reduction(self.agg, self.column if self.agg in COLUMN_REDUCTIONS else None)


def choices_from_query(arguments: Mapping[str, str], columns: Sequence[str]) -> tuple[Choices, list[str]]:
    """The choices named in a page's address, and a problem for each value that was ignored.

    ``columns`` are the table's numeric columns; the first is the default column. An unknown
    value, or a reduction that needs a column the address does not give, falls back to the
    default, with a problem that names the value and the valid ones.
    """
    problems: list[str] = []
    names = reduction_names(columns)
    default_column = columns[0] if columns else None
    agg = arguments.get("agg", "count")
    if agg not in names:
        problems.append(f"agg={agg!r} in the address is not one of {names}; showing count")
        agg = "count"
    column = arguments.get("column")
    if column is not None and column not in columns:
        instead = "showing count" if agg in COLUMN_REDUCTIONS else "ignoring it"
        problems.append(
            f"column={column!r} in the address is not a numeric column; expected one of {list(columns)}; "
            + instead
        )
        agg, column = "count", None
    elif column is None and agg in COLUMN_REDUCTIONS:
        problems.append(
            f"agg={agg!r} in the address needs a column; expected column= one of {list(columns)}; "
            "showing count"
        )
        agg = "count"
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
    return Choices(agg, column or default_column, colormap, normalization), problems
