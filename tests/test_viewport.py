import math

import pytest

from app.address import viewport_from_query, viewport_query
from pipeline import Canvas, CanvasError, Viewport, ViewportError


def test_ints_become_floats() -> None:
    viewport = Viewport.from_ranges(0, 2, -1, 1)
    assert viewport == Viewport(0.0, 2.0, -1.0, 1.0)
    assert all(type(v) is float for v in (viewport.x0, viewport.x1, viewport.y0, viewport.y1))


@pytest.mark.parametrize(
    ("ends", "message"),
    [
        ((math.nan, 1, 0, 1), r"x start must be finite, got nan"),
        ((0, math.inf, 0, 1), r"x end must be finite, got inf"),
        ((0, 1, -math.inf, 1), r"y start must be finite"),
        ((1, 0, 0, 1), r"x range must have end > start, got start=1.0, end=0.0"),
        ((0, 1, 2, 2), r"y range must have end > start, got start=2.0, end=2.0"),
        ((-1e308, 1e308, 0, 1), r"x range -1e\+308..1e\+308 is too wide"),
        ((1.0, 1.0 + 2e-16, 0, 1), r"x range .* is narrower than float64 can resolve"),
        (("0", 1, 0, 1), r"x start must be a real number, got '0'"),
        ((0, 1, None, 1), r"y start must be a real number, got None"),
        ((False, 1, 0, 1), r"x start must be a real number, got False"),
    ],
)
def test_bad_ranges_are_refused_with_the_value(ends: tuple[object, ...], message: str) -> None:
    with pytest.raises(ViewportError, match=message):
        Viewport.from_ranges(*ends)


def test_1e300_wide_is_fine_when_representable() -> None:
    assert Viewport.from_ranges(-1e300, 1e300, 0, 1).width == 2e300


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (0, 10, "canvas width must be between 1 and 4096 pixels, got 0"),
        (10, -5, "canvas height must be between 1 and 4096 pixels, got -5"),
        (100_000, 10, "canvas width must be between 1 and 4096 pixels, got 100000"),
        (10.5, 10, "canvas width must be an integer, got 10.5"),
    ],
)
def test_bad_canvas_sizes(width: object, height: object, message: str) -> None:
    with pytest.raises(CanvasError, match=message):
        Canvas(width, height)  # type: ignore[arg-type]


def test_viewports_key_caches() -> None:
    assert len({Viewport(0.0, 1.0, 0.0, 1.0), Viewport.from_ranges(0, 1, 0, 1)}) == 1


def test_query_round_trip() -> None:
    viewport = Viewport(0.1, 0.30000000000000004, -1.0, 2.5e-7)
    assert viewport_from_query(viewport_query(viewport)) == viewport
    assert viewport_from_query({"agg": "count"}) is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"x0": "0", "x1": "1"}, r"the address gives \['x0', 'x1'\] but not \['y0', 'y1'\]"),
        ({"x0": "0", "x1": "one", "y0": "0", "y1": "1"}, r"x1='one' in the address is not a number"),
        ({"x0": "0", "x1": "1", "y0": "nan", "y1": "1"}, r"y start must be finite, got nan"),
        ({"x0": "2", "x1": "1", "y0": "0", "y1": "1"}, r"x range must have end > start"),
    ],
)
def test_bad_queries_name_the_problem(query: dict[str, str], message: str) -> None:
    with pytest.raises(ViewportError, match=message):
        viewport_from_query(query)
