"""The page's address: the view and the viewer's choices, read when a page opens and kept as it changes.

One table, :data:`CHOICES`, declares each choice once: its key in the address, the control
(a ``Select``) that holds it on the page, its valid values and its default. The view is
``x0``, ``x1``, ``y0``, ``y1`` (:data:`VIEW_KEYS`). The page rewrites its address after each
gesture and each choice (``js/keep_in_address.js``, given these keys), so that copying it
shares what is on screen; a bad value falls back to its default with a message that names it
and what would be valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bokeh.models.callbacks import CustomJS
from bokeh.models.ranges import Range1d
from bokeh.models.widgets import Select

from pipeline import REDUCTION_KINDS, ColumnKind, Reduction, Viewport, ViewportError, offered_kinds

from .mapper import COLORMAPS, DEFAULT_COLORMAP, DEFAULT_NORMALIZATION, NORMALIZATIONS
from .scripts import custom_js
from .spreading import DEFAULT_SPREAD, SPREADS

VIEW_KEYS = ("x0", "x1", "y0", "y1")


@dataclass(frozen=True)
class Choice:
    """One choice the address carries: its key, the name of the page's Select, valid values, default."""

    key: str
    control: str
    valid: tuple[str, ...]
    default: str

    def read(self, arguments: Mapping[str, str], problems: list[str]) -> str:
        """The value in ``arguments``, or the default (noting a problem) if it is not valid."""
        value = arguments.get(self.key, self.default)
        if value in self.valid:
            return value
        problems.append(
            f"{self.key}={value!r} in the address is not one of {list(self.valid)}; showing {self.default!r}"
        )
        return self.default


# The reduction and its column depend on the table's columns, so they are read by
# :func:`choices_from_query`; their keys and controls are declared here with the others.
REDUCTION_KEY, REDUCTION_CONTROL = "agg", "reduction"
COLUMN_KEY, COLUMN_CONTROL = "column", "column"
COLOURS = (
    Choice("cmap", "colormap", tuple(COLORMAPS), DEFAULT_COLORMAP),
    Choice("norm", "normalization", tuple(NORMALIZATIONS), DEFAULT_NORMALIZATION),
)
SPREAD = Choice("spread", "spread", tuple(SPREADS), DEFAULT_SPREAD)
# every choice the address carries, as (key, control), in the address's order
CHOICES: tuple[tuple[str, str], ...] = (
    (REDUCTION_KEY, REDUCTION_CONTROL),
    (COLUMN_KEY, COLUMN_CONTROL),
    *((choice.key, choice.control) for choice in (*COLOURS, SPREAD)),
)
ADDRESS_KEYS = (*VIEW_KEYS, *(key for key, _ in CHOICES))

COUNT = Reduction().name  # what a bad reduction in the address falls back to
TableColumns = Mapping[ColumnKind, Sequence[str]]  # a table's columns that reductions can read


def viewport_from_query(arguments: Mapping[str, str]) -> Viewport | None:
    """The viewport named by ``x0``, ``x1``, ``y0``, ``y1`` in a URL query; None if it names none.

    A query that names some but not all four, or a value that is not a number, raises
    :class:`ViewportError` naming the problem.
    """
    present = [key for key in VIEW_KEYS if key in arguments]
    if not present:
        return None
    missing = [key for key in VIEW_KEYS if key not in arguments]
    if missing:
        raise ViewportError(
            f"the address gives {present} but not {missing}; a view needs all of {list(VIEW_KEYS)}"
        )
    ends: list[float] = []
    for key in VIEW_KEYS:
        text = arguments[key]
        try:
            ends.append(float(text))
        except ValueError:
            raise ViewportError(f"{key}={text!r} in the address is not a number") from None
    return Viewport.from_ranges(*ends)


def viewport_query(viewport: Viewport) -> dict[str, str]:
    """The URL query arguments that :func:`viewport_from_query` reads back to ``viewport``."""
    ends = (viewport.x0, viewport.x1, viewport.y0, viewport.y1)
    return {key: repr(value) for key, value in zip(VIEW_KEYS, ends, strict=True)}


def reduction_options(columns: TableColumns) -> list[str | tuple[str, str]]:
    """The reduction Select's options: a name, or a name and its label where they differ."""
    kinds = offered_kinds([kind for kind, names in columns.items() if names])
    return [kind.name if kind.label == kind.name else (kind.name, kind.label) for kind in kinds]


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
        return Reduction(self.agg, self.column if REDUCTION_KINDS[self.agg].needs_column else None)


def _reduction_from_query(
    arguments: Mapping[str, str], columns: TableColumns, problems: list[str]
) -> tuple[str, str | None]:
    """The reduction's name and column named in the address, or count (noting a problem)."""
    numeric = list(columns.get(ColumnKind.NUMERIC, ()))
    categorical = list(columns.get(ColumnKind.CATEGORICAL, ()))
    names = [option if isinstance(option, str) else option[0] for option in reduction_options(columns)]
    agg = arguments.get(REDUCTION_KEY, COUNT)
    if agg not in names:
        problems.append(f"agg={agg!r} in the address is not one of {names}; showing {COUNT}")
        agg = COUNT
    kind = REDUCTION_KINDS[agg]
    column = arguments.get(COLUMN_KEY)
    # count reads no column, but the page keeps the last one chosen: either kind will do
    valid = list(columns.get(kind.column_kind, ())) if kind.needs_column else [*numeric, *categorical]
    wanted = kind.column_kind.value if kind.needs_column else "numeric or categorical"
    if column is not None and column not in valid:
        instead = f"showing {COUNT}" if kind.needs_column else "ignoring it"
        problems.append(
            f"column={column!r} in the address is not a {wanted} column; expected one of {valid}; {instead}"
        )
        return COUNT, None
    if column is None and kind.needs_column:
        problems.append(
            f"agg={agg!r} in the address needs a column; expected column= one of {valid}; showing {COUNT}"
        )
        agg = COUNT
    return agg, column


def choices_from_query(arguments: Mapping[str, str], columns: TableColumns) -> tuple[Choices, list[str]]:
    """The choices named in a page's address, and a problem for each value that was ignored.

    ``columns`` are the table's columns of each kind; the first numeric one is the default
    column. An unknown value, or a reduction whose column the address does not give or names
    wrongly, falls back to the default, with a problem that names the value and the valid ones.
    """
    problems: list[str] = []
    agg, column = _reduction_from_query(arguments, columns, problems)
    numeric = list(columns.get(ColumnKind.NUMERIC, ()))
    categorical = list(columns.get(ColumnKind.CATEGORICAL, ()))
    default_column = numeric[0] if numeric else (categorical[0] if categorical else None)
    colormap, normalization = (choice.read(arguments, problems) for choice in COLOURS)
    spread = SPREAD.read(arguments, problems)
    return Choices(agg, column or default_column, colormap, normalization, spread), problems


def keep_in_address(x_range: Range1d, y_range: Range1d, controls: Mapping[str, Select]) -> CustomJS:
    """The page's callback that writes the view and every choice (``controls`` by their names)
    into its address."""
    return custom_js(
        "keep_in_address",
        {
            "x_range": x_range,
            "y_range": y_range,
            "view_keys": list(VIEW_KEYS),
            "choice_keys": [key for key, _ in CHOICES],
            "choices": [controls[control] for _, control in CHOICES],
        },
    )
