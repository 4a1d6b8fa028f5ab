"""The number of rows inside a box drawn with the box-select tool.

The count is the one-pixel count image of the box: Datashader's ranges are closed, so its one
pixel holds exactly the rows with ``x0 <= x <= x1`` and ``y0 <= y <= y1``. It is rendered on
the store's threads and cached like any image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from pipeline import Canvas, Viewport, ViewportError

ONE_PIXEL = Canvas(1, 1)


def box_viewport(geometry: Mapping[str, object]) -> Viewport:
    """The data-space box of a ``SelectionGeometry`` event's geometry.

    Raises :class:`ViewportError` for anything but a rectangle with width and height.
    """
    kind = geometry.get("type")
    if kind != "rect":
        raise ViewportError(f"expected a rectangular selection, got a {kind!r} geometry")
    x0, x1, y0, y1 = (geometry.get(end) for end in ("x0", "x1", "y0", "y1"))
    for axis, start, end in (("width", x0, x1), ("height", y0, y1)):
        if start == end:
            raise ViewportError(f"the selected box has no {axis}; drag a box to count the rows inside it")
    return Viewport.from_ranges(x0, x1, y0, y1)


def span_text(start: float, end: float) -> str:
    """``start to end``, to three significant digits of the width (as the hover read-out shows pixels)."""
    decimals = min(20, max(0, 2 - math.floor(math.log10(end - start))))
    return f"{start:.{decimals}f} to {end:.{decimals}f}"


def selection_text(rows: int, box: Viewport, min_count: int) -> str:
    """What the page says about a counted box.

    With ``--min-count K`` a box of fewer than K rows counts as empty, as any pixel does.
    """
    where = f"in x {span_text(box.x0, box.x1)}, y {span_text(box.y0, box.y1)}"
    if rows == 0 and min_count > 1:
        return f"fewer than {min_count:,} rows {where}"
    return f"{rows:,} {'row' if rows == 1 else 'rows'} {where}"
