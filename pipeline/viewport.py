"""Value objects for what an image shows: the data-space rectangle and the pixel grid."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from .errors import CanvasError, ViewportError

__all__ = ["MAX_CANVAS_PIXELS", "Canvas", "Viewport"]

MAX_CANVAS_PIXELS = 4096  # per side; a 4096x4096 count grid is 64 MiB
# A range narrower than this many float64 steps of its own magnitude cannot be split into pixels.
_MIN_WIDTH_IN_ULPS = 64


def _as_float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ViewportError(f"{name} must be a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ViewportError(f"{name} must be finite, got {value!r}")
    return number


def _check_span(axis: str, start: float, end: float) -> None:
    if not end > start:
        raise ViewportError(f"{axis} range must have end > start, got start={start!r}, end={end!r}")
    width = end - start
    if not math.isfinite(width):
        raise ViewportError(f"{axis} range {start!r}..{end!r} is too wide to represent")
    resolution = _MIN_WIDTH_IN_ULPS * math.ulp(max(abs(start), abs(end)))
    if width < resolution:
        raise ViewportError(
            f"{axis} range {start!r}..{end!r} is narrower than float64 can resolve "
            f"(width {width!r} < {resolution!r})"
        )


@dataclass(frozen=True, slots=True)
class Viewport:
    """A closed data-space rectangle [x0, x1] x [y0, y1], always float and finite."""

    x0: float
    x1: float
    y0: float
    y1: float

    @classmethod
    def from_ranges(cls, x0: object, x1: object, y0: object, y1: object) -> Viewport:
        """Validate raw range ends (from a browser, a URL, a client) into a viewport.

        Browsers send integer-valued ends as ints; they are cast to float here so
        that compiled kernels see one argument type.
        """
        fx0, fx1 = _as_float("x start", x0), _as_float("x end", x1)
        fy0, fy1 = _as_float("y start", y0), _as_float("y end", y1)
        _check_span("x", fx0, fx1)
        _check_span("y", fy0, fy1)
        return cls(fx0, fx1, fy0, fy1)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(frozen=True, slots=True)
class Canvas:
    """The pixel size of an aggregate grid."""

    width: int
    height: int

    def __post_init__(self) -> None:
        for name, value in (("width", self.width), ("height", self.height)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise CanvasError(f"canvas {name} must be an integer, got {value!r}")
            if not 1 <= value <= MAX_CANVAS_PIXELS:
                raise CanvasError(
                    f"canvas {name} must be between 1 and {MAX_CANVAS_PIXELS} pixels, got {value!r}"
                )
