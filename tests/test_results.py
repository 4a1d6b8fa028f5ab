"""What a render thread makes of a result for the page, tested without a document."""

from __future__ import annotations

import numpy as np

from app.results import image_update
from pipeline import Aggregate, Canvas, Reduction, Rendered, Viewport, pack_grid, unpack_grid

VIEW = Viewport(0.0, 2.0, 0.0, 3.0)
CANVAS = Canvas(2, 3)


def rendered(grid: np.ndarray, reduction: Reduction, *, packed: bool, from_cache: bool = False) -> Rendered:
    aggregate = Aggregate(grid, VIEW, CANVAS, reduction, 40, 0.0125, pack_grid(grid) if packed else None)
    return Rendered(aggregate, from_cache, 0.0)


def no_categories(column: str) -> list[str]:
    raise AssertionError(f"only a count_by grid asks for categories, not {column!r}")


def test_a_count_grid_is_sent_as_its_own_packing_and_counted() -> None:
    grid = np.array([[1, 0], [2, 3], [0, 4]], dtype=np.uint8)
    result = rendered(grid, Reduction(), packed=True)
    update = image_update(result, no_categories)
    assert update.packed is result.aggregate.packed  # shared by every viewer, not packed again
    assert update.counts and update.rows_in_view == 10 and update.shading is None
    assert update.status == "10 rows in view | 40 rows scanned | render 12.5 ms | computed"


def test_a_mean_grid_names_its_reduction_and_leaves_the_histograms_to_the_server() -> None:
    grid = np.array([[0.5, np.nan], [1.5, 2.0], [np.nan, 4.0]])
    update = image_update(
        rendered(grid, Reduction("mean", "value"), packed=True, from_cache=True), no_categories
    )
    assert not update.counts and update.rows_in_view is None
    assert update.status == "mean(value) | 40 rows scanned | render 12.5 ms | from cache"


def test_a_count_by_grid_is_shaded_and_the_page_gets_its_totals() -> None:
    grid = np.zeros((3, 2, 3), dtype=np.uint32)
    grid[0, 0] = [1, 2, 0]
    grid[2, 1] = [0, 0, 5]
    update = image_update(
        rendered(grid, Reduction("count_by", "kind"), packed=False), lambda column: ["p", "q", "r"]
    )
    assert update.shading is not None and update.shading.labels == ("p", "q", "r")
    assert update.shading.rows == (1, 2, 5)
    np.testing.assert_array_equal(update.grid, [[3, 0], [0, 0], [0, 5]])
    np.testing.assert_array_equal(unpack_grid(update.packed), update.grid)
    assert update.counts and update.rows_in_view == 8
    assert update.status.startswith("8 rows in view | ")
