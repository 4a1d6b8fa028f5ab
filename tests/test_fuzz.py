"""Property tests: validation either gives a usable value or its own typed error, never anything else."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from pipeline import (
    MAX_CANVAS_PIXELS,
    Canvas,
    CanvasError,
    Reduction,
    ReductionError,
    Viewport,
    ViewportError,
)

range_ends = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.decimals(allow_nan=False, allow_infinity=False),
)
SCHEMA = pd.DataFrame({"a": [0.0], "b": [0.0], "value": [1.0], "label": ["x"]}).dtypes


@given(range_ends, range_ends, range_ends, range_ends)
def test_viewport_validation(x0: object, x1: object, y0: object, y1: object) -> None:
    try:
        viewport = Viewport.from_ranges(x0, x1, y0, y1)
    except ViewportError as err:
        assert str(err)  # a message for the viewer
        return
    for start, end in ((viewport.x0, viewport.x1), (viewport.y0, viewport.y1)):
        assert math.isfinite(start) and math.isfinite(end) and end > start
        assert math.isfinite(end - start)


@given(st.integers(min_value=-(2**40), max_value=2**40), st.integers(min_value=-(2**40), max_value=2**40))
def test_canvas_validation(width: int, height: int) -> None:
    try:
        canvas = Canvas(width, height)
    except CanvasError:
        assert not (1 <= width <= MAX_CANVAS_PIXELS and 1 <= height <= MAX_CANVAS_PIXELS)
        return
    assert 1 <= canvas.width <= MAX_CANVAS_PIXELS and 1 <= canvas.height <= MAX_CANVAS_PIXELS


@given(
    st.text(max_size=8),
    st.one_of(st.none(), st.sampled_from(["a", "value", "label", "missing"]), st.text(max_size=4)),
)
def test_reduction_validation(name: str, column: str | None) -> None:
    try:
        reduction = Reduction(name, column)
        reduction.validate(SCHEMA)
    except ReductionError as err:
        assert repr(name) in str(err) or repr(column) in str(err)
        return
    assert reduction.name in ("count", "sum", "min", "max", "mean", "std")
    assert reduction.column in (None, "a", "b", "value")
