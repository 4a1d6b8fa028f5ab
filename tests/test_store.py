import time
from pathlib import Path

import datashader as ds
import numpy as np
import pytest

from pipeline import (
    Canvas,
    DataStore,
    LoadState,
    PipelineError,
    Reduction,
    Settings,
    SyntheticSource,
    Viewport,
    get_store,
    unpack_grid,
)

from .conftest import load_store


def test_loads_once_and_renders_exact_cached_images(fresh_store: DataStore) -> None:
    settings = Settings(rows=50_000, seed=5, width=64, height=48)
    load_store(fresh_store, settings)
    status = fresh_store.status()
    assert status.state is LoadState.READY and status.rows == 50_000 and status.fraction == 1.0
    fresh_store.start(settings)  # same settings again: nothing happens
    with pytest.raises(PipelineError, match="store already holds data"):
        fresh_store.start(Settings(rows=10))

    frame = SyntheticSource(rows=50_000, seed=5).load()
    viewport = Viewport(-1.0, 0.5, -0.25, 2.0)
    canvas = Canvas(64, 48)
    rendered = fresh_store.submit(viewport, canvas, Reduction()).result(30)
    want = ds.Canvas(64, 48, x_range=(-1.0, 0.5), y_range=(-0.25, 2.0)).points(frame, "a", "b").values
    np.testing.assert_array_equal(rendered.aggregate.grid, want)
    assert not rendered.from_cache
    again = fresh_store.render(viewport, canvas, Reduction())
    assert again.from_cache and again.aggregate is rendered.aggregate
    assert not again.aggregate.grid.flags.writeable


def test_each_view_is_packed_once_for_every_viewer(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=200_000, seed=3, width=64, height=48))
    canvas = Canvas(64, 48)
    for reduction, dtype in [(Reduction(), "uint16"), (Reduction("mean", "value"), "float64")]:
        viewport = Viewport(-3.0, 3.0, -3.0, 3.0)
        aggregate = fresh_store.render(viewport, canvas, reduction).aggregate
        packed = aggregate.packed
        assert packed is not None and packed.dtype == aggregate.grid.dtype.name == dtype
        np.testing.assert_array_equal(unpack_grid(packed), aggregate.grid)
        assert aggregate.nbytes == aggregate.grid.nbytes + packed.nbytes  # both are held
        assert fresh_store.render(viewport, canvas, reduction).aggregate.packed is packed
        assert not packed.data.flags.writeable
    # a uint8 grid's packing is the grid itself, held once
    deep = fresh_store.render(Viewport(0.0, 0.1, 0.0, 0.1), canvas, Reduction()).aggregate
    assert deep.grid.dtype == np.uint8 and deep.packed is not None
    assert np.shares_memory(deep.packed.data, deep.grid) and deep.nbytes == deep.grid.nbytes
    # count by category is a 3-D grid: the page gets its shaded image, not a packing
    by = fresh_store.render(Viewport(-3.0, 3.0, -3.0, 3.0), canvas, Reduction("count_by", "category"))
    assert by.aggregate.grid.ndim == 3 and by.aggregate.packed is None


def test_home_view_is_prerendered(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=10_000, width=32, height=32))
    home = fresh_store.home_viewport()
    extent = fresh_store.dataset.extent
    assert home == extent
    assert fresh_store.render(home, Canvas(32, 32), Reduction()).from_cache


def test_missing_source_fails_with_its_name(fresh_store: DataStore, tmp_path: Path) -> None:
    load_store(fresh_store, Settings(source=tmp_path / "gone.parquet"))
    status = fresh_store.status()
    assert status.state is LoadState.FAILED
    assert "gone.parquet' does not exist" in (status.error or "")
    with pytest.raises(PipelineError, match="data is not ready"):
        fresh_store.dataset  # noqa: B018


def test_source_without_finite_points_fails(fresh_store: DataStore, tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text("x,y\nnan,1\n2,inf\n")
    load_store(fresh_store, Settings(source=path))
    assert "no row of" in (fresh_store.status().error or "")


def test_single_row_source_gets_a_padded_home_view(fresh_store: DataStore, tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("x,y\n3,4\n")
    load_store(fresh_store, Settings(source=path, width=16, height=16))
    home = fresh_store.home_viewport()
    assert home == Viewport(2.5, 3.5, 3.5, 4.5)
    grid = fresh_store.render(home, Canvas(16, 16), Reduction()).aggregate.grid
    assert grid.sum() == 1 and grid[8, 8] == 1


def test_min_count_empties_pixels_of_few_rows_in_every_reduction(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=20_000, seed=8, width=40, height=30, min_count=3))
    frame = SyntheticSource(rows=20_000, seed=8).load()
    viewport = Viewport.from_ranges(-3.0, 3.0, -3.0, 3.0)
    cvs = ds.Canvas(40, 30, x_range=(-3.0, 3.0), y_range=(-3.0, 3.0))
    counts = cvs.points(frame, "a", "b", ds.count()).values
    sparse = counts < 3
    assert sparse.any() and (counts[sparse] > 0).any() and (~sparse).any()  # the test can tell
    count_grid = fresh_store.render(viewport, Canvas(40, 30), Reduction()).aggregate.grid
    np.testing.assert_array_equal(count_grid, np.where(sparse, 0, counts))
    mean = cvs.points(frame, "a", "b", ds.mean("value")).values
    mean_grid = fresh_store.render(viewport, Canvas(40, 30), Reduction("mean", "value")).aggregate.grid
    np.testing.assert_allclose(mean_grid, np.where(sparse, np.nan, mean), rtol=1e-12, equal_nan=True)
    by_category = cvs.points(frame, "a", "b", ds.by("category", ds.count())).values
    by_grid = fresh_store.render(viewport, Canvas(40, 30), Reduction("count_by", "category")).aggregate.grid
    assert by_grid.shape == (30, 40, 5)
    np.testing.assert_array_equal(by_grid, np.where(sparse[..., None], 0, by_category))


def test_count_by_category_is_offered_for_categorical_columns(fresh_store: DataStore) -> None:
    load_store(fresh_store, Settings(rows=1_000, width=20, height=10))
    dataset = fresh_store.dataset
    assert dataset.categorical_columns == ["category"]
    assert dataset.categories("category") == ["east", "north", "west", "south", "centre"]
    assert Reduction("count_by", "category") in dataset.offered_reductions()


def test_a_source_replaced_while_served_keeps_serving_its_rows_until_restart(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("x,y\n0.25,0.25\n0.75,0.75\n")
    settings = Settings(source=path, width=2, height=2, cache_dir=tmp_path / "cache")
    viewport = Viewport.from_ranges(0.0, 1.0, 0.0, 1.0)
    get_store.cache_clear()
    store = load_store(get_store(), settings)
    try:
        assert store.render(viewport, Canvas(2, 2), Reduction()).aggregate.grid.tolist() == [[1, 0], [0, 1]]
        path.write_text("x,y\n0.1,0.1\n0.2,0.2\n0.3,0.3\n")
        # The running server keeps serving the rows it loaded, consistently.
        assert store.render(viewport, Canvas(1, 1), Reduction()).aggregate.grid.tolist() == [[2]]
    finally:
        store.close()
    get_store.cache_clear()
    restarted = load_store(get_store(), settings)
    try:
        assert not restarted.dataset.from_cache  # the file changed: read again
        assert restarted.render(viewport, Canvas(2, 2), Reduction()).aggregate.grid.tolist() == [
            [3, 0],
            [0, 0],
        ]
    finally:
        restarted.close()
        get_store.cache_clear()


def test_the_other_reductions_compile_only_while_no_image_is_rendered(
    fresh_store: DataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import store as store_module

    quiet = 0.3
    monkeypatch.setattr(store_module, "QUIET_BEFORE_COMPILING", quiet)
    compiles: list[tuple[float, int, float, int]] = []  # when, renders running, since the last, count
    compile_now = fresh_store._compile

    def watched(dataset, reductions):
        with fresh_store._rendering:
            compiles.append(
                (time.monotonic(), fresh_store._renders_running, fresh_store._last_render, len(reductions))
            )
        compile_now(dataset, reductions)

    monkeypatch.setattr(fresh_store, "_compile", watched)
    load_store(fresh_store, Settings(rows=20_000, width=40, height=30, cache_dir=None))
    ready_compiles = len(compiles)  # count, before ready
    stop = time.monotonic() + 1.0
    while time.monotonic() < stop:  # a viewer zooming: no pause as long as the quiet time
        x0 = float(np.random.default_rng().uniform(-1, 0))
        fresh_store.render(Viewport(x0, x0 + 1.5, -1.0, 1.0), Canvas(40, 30), Reduction())
    wait = time.monotonic() + 30
    while len(compiles) < ready_compiles + 6 and time.monotonic() < wait:  # sum, mean, min, max, std, by
        time.sleep(0.05)
    after_ready = compiles[ready_compiles:]
    assert len(after_ready) == 6 and all(count == 1 for *_, count in after_ready)
    for started, running, last_render, _ in after_ready:
        assert running == 0 and started - last_render >= quiet
    assert after_ready[0][0] >= stop  # none while the viewer zoomed
