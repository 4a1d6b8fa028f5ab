"""Count by category in the page: an RGBA image shaded on the server, and its legend.

A colour mapper in the browser maps one number per pixel, but a pixel of several categories
needs their colours mixed by count, so a ``count_by`` grid is shaded on the server
(:func:`pipeline.shading.shade_categories`) and drawn by an ``ImageRGBA`` glyph. The page also
gets the grid's total per pixel, the rows of every category, as the image source's count
grid: the hover read-out reads it, and the histograms are its sums, as for a count image. The legend
names each category with its colour and its rows in view, exact sums of the grid.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipeline import category_colors, compact_grid, shade_categories

__all__ = ["CategoryImage", "category_image", "legend_html"]


@dataclass(frozen=True, eq=False)
class CategoryImage:
    """What the page shows of one ``count_by`` grid of shape ``(height, width, categories)``."""

    rgba: npt.NDArray[np.uint32]  # the shaded pixels, row 0 at the bottom
    totals: npt.NDArray[np.generic]  # rows per pixel over all categories, compact dtype
    labels: tuple[str, ...]
    colors: tuple[str, ...]
    rows: tuple[int, ...]  # rows in view per category


def category_image(grid: npt.NDArray[np.generic], labels: list[str]) -> CategoryImage:
    """Shade a ``count_by`` grid whose last axis follows ``labels``."""
    if grid.ndim != 3 or grid.shape[2] != len(labels):
        raise ValueError(
            f"a count_by grid over {len(labels)} categories needs 3 axes, got shape {grid.shape}"
        )
    colors = category_colors(len(labels))
    totals = grid.sum(axis=2, dtype=np.uint64)
    rows = grid.sum(axis=(0, 1), dtype=np.uint64)
    return CategoryImage(
        rgba=shade_categories(grid, colors),
        totals=compact_grid(totals),
        labels=tuple(labels),
        colors=tuple(colors),
        rows=tuple(int(count) for count in rows),
    )


def legend_html(image: CategoryImage) -> str:
    """The legend on one line: each category's colour, label and rows in view."""
    entries = [
        f"<span class='entry' style='margin-right:1.2em;white-space:nowrap'>"
        f"<span class='swatch' style='display:inline-block;width:0.9em;height:0.9em;"
        f"vertical-align:middle;margin-right:0.35em;background:{color}'></span>"
        f"<span class='label'>{html.escape(label)}</span> "
        f"<span class='rows'>{rows:,}</span></span>"
        for label, color, rows in zip(image.labels, image.colors, image.rows, strict=True)
    ]
    return "<b>Rows in view by category:</b> " + " ".join(entries)
