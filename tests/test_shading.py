"""Shading count-by-category grids: colours mixed by count, opacity by total, empty transparent."""

import numpy as np
import pytest

from pipeline import category_colors, shade_categories
from pipeline.shading import CATEGORY_PALETTE, MIN_ALPHA


def channels(pixel: int) -> tuple[int, int, int, int]:
    """(red, green, blue, alpha) of one little-endian RGBA pixel."""
    return (pixel & 255, (pixel >> 8) & 255, (pixel >> 16) & 255, pixel >> 24)


def test_colours_mix_by_count_and_opacity_follows_the_total() -> None:
    # One row of pixels: empty, 3 red, 2 red + 2 blue, 1 blue.
    grid = np.array([[[0, 0], [3, 0], [2, 2], [0, 1]]], dtype=np.uint32)
    pixels = [channels(int(p)) for p in shade_categories(grid, ["#ff0000", "#0000ff"])[0]]
    assert pixels[0][3] == 0
    assert pixels[1][:3] == (255, 0, 0)
    assert pixels[2][:3] == (127, 0, 127)
    assert pixels[3][:3] == (0, 0, 255)
    assert pixels[3][3] == MIN_ALPHA < pixels[1][3] < pixels[2][3] == 255


def test_an_empty_grid_is_fully_transparent() -> None:
    image = shade_categories(np.zeros((3, 4, 2), dtype=np.uint32), ["#ff0000", "#0000ff"])
    assert image.shape == (3, 4) and image.dtype == np.uint32 and not image.any()


def test_one_colour_per_category() -> None:
    with pytest.raises(ValueError, match="3 categories need 3 colours, got 2"):
        shade_categories(np.ones((1, 1, 3), dtype=np.uint32), ["#ff0000", "#0000ff"])
    colors = category_colors(len(CATEGORY_PALETTE) + 2)
    assert colors[: len(CATEGORY_PALETTE)] == list(CATEGORY_PALETTE)
    assert colors[-2:] == list(CATEGORY_PALETTE[:2])
    assert len(set(category_colors(5))) == 5
