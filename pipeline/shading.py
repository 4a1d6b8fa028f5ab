"""Colouring a count-by-category grid on the server: one colour per category, blended by count.

A colour mapper in the browser maps one number per pixel; a pixel of several categories needs
their colours mixed in proportion to their counts, so ``count_by`` grids are shaded here, with
Datashader's own ``shade``, into RGBA pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import colorcet
import datashader.transfer_functions as tf
import numpy as np
import numpy.typing as npt
import xarray as xr

__all__ = ["CATEGORY_PALETTE", "category_colors", "shade_categories"]

# Distinct colours that read well on white (colorcet's Glasbey set for light backgrounds).
CATEGORY_PALETTE: tuple[str, ...] = tuple(colorcet.palette["glasbey_category10"])
MIN_ALPHA = 60  # the faintest non-empty pixel stays visible
SHADE_HOW = "eq_hist"


def category_colors(count: int) -> list[str]:
    """``count`` colours, one per category, repeating the palette if there are more categories."""
    return [CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i in range(count)]


def shade_categories(grid: npt.NDArray[np.generic], colors: Sequence[str]) -> npt.NDArray[np.uint32]:
    """RGBA pixels (``uint32``, row 0 at the bottom) of a ``(height, width, categories)`` count grid.

    Each pixel's colour is the count-weighted mean of its categories' colours; its opacity
    follows the total count (equal-histogram); pixels without rows are fully transparent.
    """
    height, width, categories = grid.shape
    if len(colors) != categories:
        raise ValueError(f"{categories} categories need {categories} colours, got {len(colors)}")
    if height == 0 or width == 0 or not np.any(grid):
        return np.zeros((height, width), dtype=np.uint32)
    array = xr.DataArray(
        np.asarray(grid),
        dims=("y", "x", "category"),
        coords={"y": np.arange(height), "x": np.arange(width), "category": np.arange(categories)},
    )
    image = tf.shade(array, color_key=list(colors), how=SHADE_HOW, min_alpha=MIN_ALPHA)
    return np.asarray(image.values, dtype=np.uint32)
