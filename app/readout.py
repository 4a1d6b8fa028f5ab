"""The pixel under the cursor, read out beside it on the plot (``js/pixel_readout.js``).

A HoverTool without tooltips calls ``js/pixel_readout.js``, which writes the pixel's value and
extent into a label drawn on the plot's canvas. BokehJS's own tooltips are page elements, placed
and styled again at every repaint of the plot, so at every frame of a drag or a zoom; the label
only repaints the plot's overlay. Everything it shows is computed in the page, and nothing of it
goes back to the server: the label is not synced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bokeh.models.annotations import Label
from bokeh.models.renderers import GlyphRenderer
from bokeh.models.sources import ColumnDataSource
from bokeh.models.tools import HoverTool
from bokeh.plotting import figure

from .scripts import custom_js


class PixelReadout:
    """The read-out of ``source``'s grid under the cursor, over ``renderer``'s image on ``plot``.

    ``names`` are the value's name (the reduction) and the x and y columns' names.
    """

    def __init__(
        self, plot: figure, source: ColumnDataSource, renderer: GlyphRenderer[Any], names: Sequence[str]
    ) -> None:
        self.label = Label(
            name="pixel_readout",
            x=0,
            y=0,
            text="",
            visible=False,
            level="overlay",
            syncable=False,  # moves with the cursor: the server never needs to hear of it
            background_fill_color="white",
            background_fill_alpha=0.92,
            border_line_color="#9a9a9a",
            text_font_size="12px",
            text_line_height=1.3,
        )
        self.label.update(padding=5, border_radius=3)  # (typed too narrowly to pass above)
        self.callback = custom_js(
            "pixel_readout",
            {
                "source": source,
                "label": self.label,
                "names": list(names),
                "x_range": plot.x_range,
                "y_range": plot.y_range,
            },
        )
        self.tool = HoverTool(renderers=[renderer], tooltips=None, callback=self.callback)
        plot.add_layout(self.label)
        plot.add_tools(self.tool)

    @property
    def names(self) -> list[str]:
        return list(self.callback.args["names"])

    @names.setter
    def names(self, names: Sequence[str]) -> None:
        if list(names) != self.names:
            self.callback.args = {**self.callback.args, "names": list(names)}

    def read(self, renderer: GlyphRenderer[Any]) -> None:
        """Read out the pixels of ``renderer``'s image (the one on show)."""
        if self.tool.renderers != [renderer]:
            self.tool.renderers = [renderer]
