"""The store through HoloViews: a DynamicMap whose elements are the store's exact grids."""

from __future__ import annotations

import datashader as ds
import holoviews as hv
import numpy as np
import pytest

from pipeline import (
    Canvas,
    DataStore,
    Reduction,
    Settings,
    SyntheticSource,
    category_colors,
    shade_categories,
)
from pipeline.notebook import dynamic_image, image_for

from .conftest import load_store


def test_dynamic_image_follows_the_ranges_with_exact_grids(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=30_000, seed=4, width=40, height=30))
    frame = SyntheticSource(rows=30_000, seed=4).load()
    dmap = dynamic_image(fresh_store, canvas=Canvas(40, 30))
    dmap.event(x_range=(-1.0, 2.0), y_range=(-0.5, 0.5))
    element = dmap[()]
    assert isinstance(element, hv.Image)
    assert element.bounds.lbrt() == pytest.approx((-1.0, -0.5, 2.0, 0.5), rel=1e-12)
    expected = ds.Canvas(40, 30, x_range=(-1.0, 2.0), y_range=(-0.5, 0.5)).points(frame, "a", "b").values
    np.testing.assert_array_equal(element.dimension_values(2, flat=False), expected)
    # Row 0 of the grid is the bottom: the bottom-left pixel holds the grid's [0, 0].
    assert element[-1.0 + 1.5 / 40, -0.5 + 0.5 / 30] == expected[0, 0]


def test_whole_data_and_categories(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=5_000, seed=2, width=20, height=10))
    home = fresh_store.home_viewport()
    whole = image_for(fresh_store, canvas=Canvas(20, 10))
    assert whole.bounds.lbrt() == pytest.approx((home.x0, home.y0, home.x1, home.y1), rel=1e-12)
    assert int(whole.dimension_values(2).sum()) == 5_000
    rgb = image_for(fresh_store, reduction=Reduction("count_by", "category"), canvas=Canvas(20, 10))
    assert isinstance(rgb, hv.RGB)
    grid = fresh_store.render(home, Canvas(20, 10), Reduction("count_by", "category")).aggregate.grid
    pixels = shade_categories(grid, category_colors(5)).view(np.uint8).reshape(10, 20, 4)
    np.testing.assert_allclose(rgb.dimension_values("A", flat=False), pixels[..., 3] / 255)
    np.testing.assert_allclose(rgb.dimension_values("R", flat=False), pixels[..., 0] / 255)
