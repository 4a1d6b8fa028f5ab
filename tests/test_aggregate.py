"""Exact aggregates: the indexed, threaded path against Datashader on the unindexed frame."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from pipeline import Canvas, Reduction, RowRangeBackend, SpatialIndex, Viewport, compact_grid
from pipeline.row_ranges import split_ranges

REDUCTIONS = [
    Reduction(),
    Reduction("sum", "value"),
    Reduction("min", "value"),
    Reduction("max", "value"),
    Reduction("mean", "value"),
    Reduction("std", "value"),
    Reduction("count_by", "kind"),
]


def with_kind(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus a categorical column ``kind`` of three levels."""
    codes = (np.arange(len(frame)) * 7 // 3) % 3
    return frame.assign(kind=pd.Categorical.from_codes(codes, categories=["p", "q", "r"]))


# gather everything into one frame / split every range across threads
PATHS = {"gather": 10**9, "threads": 0}


@pytest.fixture(scope="module")
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as executor:
        yield executor


def indexed(frame: pd.DataFrame, pool: ThreadPoolExecutor, gather_max_rows: int) -> RowRangeBackend:
    sorted_frame, index = SpatialIndex.sort_frame(frame.copy(), "x", "y")
    return RowRangeBackend(
        sorted_frame, x="x", y="y", index=index, pool=pool, threads=2, gather_max_rows=gather_max_rows
    )


def reference(frame: pd.DataFrame, viewport: Viewport, canvas: Canvas, reduction: Reduction) -> np.ndarray:
    cvs = ds.Canvas(
        plot_width=canvas.width,
        plot_height=canvas.height,
        x_range=(viewport.x0, viewport.x1),
        y_range=(viewport.y0, viewport.y1),
    )
    return cvs.points(frame, "x", "y", agg=reduction.to_datashader()).values


def assert_same(got: np.ndarray, want: np.ndarray, reduction: Reduction) -> None:
    assert got.shape == want.shape
    assert got.dtype == want.dtype
    if reduction.name in ("sum", "mean"):  # rows are summed in another order
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)
    elif reduction.name == "std":  # partial moments are merged pairwise, not in Datashader's order
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


def test_hand_checked_counts_on_a_2x2_canvas(pool: ThreadPoolExecutor) -> None:
    # Bins are [0, 1) and [1, 2] on both axes: a point exactly at the max edge falls in the last bin.
    cells = {
        "bottom left": [(0.0, 0.0), (0.5, 0.5), (0.99, 0.99)],
        "bottom right": [(2.0, 0.0), (1.9, 0.1), (1.2, 0.3)],
        "top left": [(0.0, 2.0), (0.0, 1.0), (0.2, 1.7), (0.3, 1.8), (0.4, 1.9)],
        "top right": [(1.0, 1.0), (1.5, 1.5), (2.0, 2.0), (2.0, 1.0)],
        "outside": [(2.01, 1.0), (-0.01, 1.0), (1.0, 2.01), (np.nan, 0.5), (0.5, np.inf)],
    }
    points = [point for members in cells.values() for point in members]
    frame = pd.DataFrame(points, columns=["x", "y"]).assign(value=np.arange(len(points), dtype=float))
    aggregator = indexed(frame.sample(frac=1.0, random_state=1), pool, gather_max_rows=10**9)
    viewport, canvas = Viewport(0.0, 2.0, 0.0, 2.0), Canvas(2, 2)
    grid = aggregator.aggregate(viewport, canvas, Reduction()).grid
    np.testing.assert_array_equal(grid, np.array([[3, 3], [5, 4]], dtype=np.uint32))  # row 0 is the bottom
    sums = aggregator.aggregate(viewport, canvas, Reduction("sum", "value")).grid
    # values are the points' positions in `points`: 0-2, 3-5, 6-10, 11-14
    np.testing.assert_array_equal(sums, [[0 + 1 + 2, 3 + 4 + 5], [6 + 7 + 8 + 9 + 10, 11 + 12 + 13 + 14]])
    # population standard deviations: of 3 consecutive integers sqrt(2/3), of 5 sqrt(2), of 4
    # sqrt(5/4); the threaded path merges the partial moments of split row ranges
    for gather_max_rows in (10**9, 0):
        aggregator.gather_max_rows = gather_max_rows
        stds = aggregator.aggregate(viewport, canvas, Reduction("std", "value")).grid
        np.testing.assert_allclose(stds, np.sqrt([[2 / 3, 2 / 3], [2, 5 / 4]]), rtol=1e-14)
    empty = aggregator.aggregate(Viewport(5.0, 6.0, 5.0, 6.0), canvas, Reduction("std", "value")).grid
    assert np.isnan(empty).all()


@pytest.mark.parametrize("path", PATHS)
def test_random_viewports_match_datashader(
    points_frame: pd.DataFrame, pool: ThreadPoolExecutor, path: str
) -> None:
    points_frame = with_kind(points_frame)
    aggregator = indexed(points_frame, pool, PATHS[path])
    rng = np.random.default_rng(7)
    for _ in range(40):
        cx, cy = rng.uniform(-3, 4, 2)
        half_width, half_height = 10 ** rng.uniform(-2.5, 1, 2)
        viewport = Viewport.from_ranges(cx - half_width, cx + half_width, cy - half_height, cy + half_height)
        canvas = Canvas(int(rng.integers(1, 120)), int(rng.integers(1, 120)))
        for reduction in REDUCTIONS:
            got = aggregator.aggregate(viewport, canvas, reduction).grid
            assert_same(got, reference(points_frame, viewport, canvas, reduction), reduction)


@pytest.mark.parametrize("path", PATHS)
def test_points_on_cell_and_viewport_edges(pool: ThreadPoolExecutor, path: str) -> None:
    # A lattice whose extent is [0, 1024] on both axes puts the index's cell edges on
    # integers: every point lies on a cell boundary, and viewports end exactly on points.
    coords = np.arange(0.0, 1025.0, 8.0)
    xs, ys = np.meshgrid(coords, coords)
    frame = with_kind(
        pd.DataFrame({"x": xs.ravel(), "y": ys.ravel(), "value": np.arange(xs.size, dtype=np.float64)})
    )
    aggregator = indexed(frame, pool, PATHS[path])
    for x0, x1, y0, y1 in [
        (8, 64, 16, 128),
        (0, 1024, 0, 1024),
        (1016, 1024, 0, 8),
        (512, 520, 512, 520),
        (0, 8, 1000, 1024),
    ]:
        viewport = Viewport.from_ranges(x0, x1, y0, y1)
        for canvas in (Canvas(7, 3), Canvas(64, 64)):
            for reduction in REDUCTIONS:
                got = aggregator.aggregate(viewport, canvas, reduction).grid
                assert_same(got, reference(frame, viewport, canvas, reduction), reduction)
        counted = aggregator.aggregate(viewport, Canvas(1, 1), Reduction()).grid
        # every lattice point inside the closed rectangle, edges included
        assert counted[0, 0] == ((x1 - x0) // 8 + 1) * ((y1 - y0) // 8 + 1)


def test_viewport_outside_the_data_is_empty(points_frame: pd.DataFrame, pool: ThreadPoolExecutor) -> None:
    aggregator = indexed(points_frame, pool, 10**9)
    result = aggregator.aggregate(Viewport(100.0, 101.0, 100.0, 101.0), Canvas(4, 3), Reduction())
    assert result.rows_scanned == 0
    np.testing.assert_array_equal(result.grid, np.zeros((3, 4), dtype=np.uint32))


@pytest.mark.parametrize("rows", [1, 50])
def test_all_rows_at_one_point(pool: ThreadPoolExecutor, rows: int) -> None:
    frame = pd.DataFrame({"x": np.full(rows, 2.5), "y": np.full(rows, -1.0), "value": np.ones(rows)})
    aggregator = indexed(frame, pool, 0)
    grid = aggregator.aggregate(Viewport(2.0, 3.0, -2.0, 0.0), Canvas(2, 2), Reduction()).grid
    np.testing.assert_array_equal(grid, [[0, 0], [0, rows]])


def test_an_index_scans_few_rows_for_a_small_view(pool: ThreadPoolExecutor) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": rng.uniform(0, 1, 200_000), "y": rng.uniform(0, 1, 200_000)})
    aggregator = indexed(frame, pool, 10**9)
    result = aggregator.aggregate(Viewport(0.5, 0.51, 0.5, 0.51), Canvas(10, 10), Reduction())
    in_view = int(result.grid.sum())
    assert 0 < in_view <= result.rows_scanned < 20 * in_view + 1_000


def test_ranges_are_bounded_and_cover_the_rows_in_view(points_frame: pd.DataFrame) -> None:
    frame, index = SpatialIndex.sort_frame(points_frame.copy(), "x", "y")
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    rng = np.random.default_rng(11)
    for _ in range(100):
        x0, y0 = rng.uniform(-4, 3, 2)
        viewport = Viewport.from_ranges(x0, x0 + rng.uniform(0.01, 4), y0, y0 + rng.uniform(0.01, 6))
        for max_ranges in (1, 3, 12):
            ranges = index.row_ranges(viewport, max_ranges)
            assert len(ranges) <= max_ranges
            covered = np.zeros(len(frame), dtype=bool)
            for start, stop in ranges:
                covered[start:stop] = True
            inside = (x >= viewport.x0) & (x <= viewport.x1) & (y >= viewport.y0) & (y <= viewport.y1)
            assert not (inside & ~covered).any()


def test_hilbert_order_visits_every_cell_once_through_neighbours() -> None:
    from pipeline.index import hilbert_codes

    bits = 4
    cy, cx = np.divmod(np.arange(1 << (2 * bits)), 1 << bits)
    codes = hilbert_codes(cx, cy, bits)
    assert sorted(codes.tolist()) == list(range(1 << (2 * bits)))
    order = np.argsort(codes)
    steps = np.abs(np.diff(cx[order])) + np.abs(np.diff(cy[order]))
    assert (steps == 1).all()


def test_split_ranges_balances_rows() -> None:
    ranges = np.array([[0, 10], [20, 25], [40, 100]])
    groups = split_ranges(ranges, 2)
    assert [int((g[:, 1] - g[:, 0]).sum()) for g in groups] == [38, 37]
    assert np.concatenate(groups).tolist() == [[0, 10], [20, 25], [40, 63], [63, 100]]


def test_compact_grid_keeps_values() -> None:
    grid = np.array([[0, 255], [3, 4]], dtype=np.uint32)
    assert compact_grid(grid).dtype == np.uint8
    assert compact_grid(grid * 1000).dtype == np.uint32
    assert compact_grid(grid + 300).dtype == np.uint16
    np.testing.assert_array_equal(compact_grid(grid + 300), grid + 300)
    floats = np.array([[0.5]])
    assert compact_grid(floats) is floats
