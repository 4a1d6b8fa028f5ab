"""Spreading for display: isolated points stay visible when zoomed far in (``js/spread.js``).

The server sends the exact grid; the page draws a copy in which empty pixels near points take
those points' colours, within a radius of a few pixels. Pixels with rows keep their exact
values, the hover read-out and the downloads read the exact grid, and the copy never goes back to the
server (its source is not synced). "auto" chooses the radius per image as Datashader's
``dynspread`` does, so dense views are drawn as they are.
"""

from __future__ import annotations

from collections.abc import Sequence

from bokeh.document import Document
from bokeh.models.sources import ColumnDataSource
from bokeh.models.widgets import Select

from .scripts import custom_js

# the address's ``spread=`` value -> its label on the page
SPREADS: dict[str, str] = {"auto": "auto", "0": "off", "1": "1 px", "2": "2 px", "3": "3 px"}
DEFAULT_SPREAD = "auto"


def spread_in_the_page(
    doc: Document,
    sources: Sequence[ColumnDataSource],
    kinds: Sequence[str],
    displays: Sequence[ColumnDataSource],
    choice: Select,
) -> None:
    """Draw each of ``displays`` from its exact source (``kinds``: "values" or "rgba") when the
    page opens (it may come with an image), when an image arrives and when ``choice`` changes."""
    callback = custom_js(
        "spread",
        {"sources": list(sources), "kinds": list(kinds), "displays": list(displays), "choice": choice},
    )
    doc.js_on_event("document_ready", callback)
    for source in sources:
        source.js_on_change("data", callback)
    choice.js_on_change("value", callback)
