"""A colour mapper for count grids: BokehJS's equal-histogram mapping, in one pass over the pixels."""

from __future__ import annotations

from bokeh.models.mappers import EqHistColorMapper


class CountEqHistColorMapper(EqHistColorMapper):
    """Equal-histogram colours with one histogram bin per integer level (see count_eq_hist.js)."""

    __implementation__ = "count_eq_hist.js"
