"""The Dask backends: only partitions meeting the view are read; images exact in-process and on a cluster."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

from pipeline import (
    Canvas,
    DaskBackend,
    DataStore,
    LoadState,
    Reduction,
    Settings,
    SyntheticSource,
    Viewport,
    get_store,
    prepare_table,
)
from pipeline.dask_backend import PartitionBounds, partition_rows, partitions_for

from .conftest import load_store

ROWS = 300_000
SEED = 11
VIEWPORTS = [
    Viewport.from_ranges(-4.0, 4.0, -4.0, 4.0),
    Viewport.from_ranges(-0.5, 0.5, -0.25, 0.75),
    Viewport.from_ranges(0.0, 0.05, 0.0, 0.05),
    Viewport.from_ranges(10.0, 11.0, 10.0, 11.0),  # no rows
]
REDUCTIONS = [
    Reduction(),
    Reduction("sum", "value"),
    Reduction("mean", "value"),
    Reduction("max", "value"),
    Reduction("std", "value"),
]
CANVAS = Canvas(60, 40)


@pytest.fixture(scope="module")
def unindexed() -> pd.DataFrame:
    return SyntheticSource(rows=ROWS, seed=SEED).load()


def datashader_grid(frame: pd.DataFrame, viewport: Viewport, reduction: Reduction) -> np.ndarray:
    cvs = ds.Canvas(
        CANVAS.width, CANVAS.height, x_range=(viewport.x0, viewport.x1), y_range=(viewport.y0, viewport.y1)
    )
    return cvs.points(frame, "a", "b", reduction.to_datashader()).values


def assert_grid_equal(grid: np.ndarray, expected: np.ndarray) -> None:
    assert grid.dtype == expected.dtype
    np.testing.assert_allclose(grid, expected, rtol=1e-12, equal_nan=True)


def test_partitions_cover_every_row_once() -> None:
    assert (partitions_for(1), partitions_for(2), partitions_for(8)) == (8, 8, 32)
    assert partition_rows(10, 8) == [(0, 10)]  # never smaller than MIN_PARTITION_ROWS
    ranges = partition_rows(10_000_000, 8)
    assert ranges[0][0] == 0 and ranges[-1][1] == 10_000_000
    assert all(stop == next_start for (_, stop), (next_start, _) in itertools.pairwise(ranges))
    assert len(ranges) == 8


def test_partition_bounds_are_closed_boxes_of_finite_points() -> None:
    x = np.array([0.0, 1.0, np.nan, 5.0, 6.0, np.inf])
    y = np.array([0.0, 2.0, 9.0, 5.0, 7.0, 1.0])
    bounds = PartitionBounds.of(x, y, [(0, 3), (3, 5), (5, 6)])
    np.testing.assert_array_equal(bounds.x0, [0.0, 5.0, np.inf])
    np.testing.assert_array_equal(bounds.y1, [2.0, 7.0, -np.inf])
    np.testing.assert_array_equal(bounds.rows, [3, 2, 1])
    assert bounds.overlapping(Viewport.from_ranges(1.0, 5.0, 2.0, 5.0)) == [0, 1]  # touching edges count
    assert bounds.overlapping(Viewport.from_ranges(1.5, 4.5, 0.0, 9.0)) == []
    assert bounds.overlapping(Viewport.from_ranges(5.5, 9.0, 0.0, 9.0)) == [1]


def test_in_process_dask_images_equal_datashader_on_the_unindexed_frame(unindexed: pd.DataFrame) -> None:
    table = prepare_table(unindexed.copy(), "a", "b", indexed=True, name="test")
    aggregator = DaskBackend.in_process(table, token="test-in-process", threads=2)
    # Partitions are slices of the table's frame, not copies.
    first = aggregator.frame.get_partition(0).compute(scheduler="sync")
    assert np.shares_memory(first["a"].to_numpy(), table.frame["a"].to_numpy())
    for viewport in VIEWPORTS:
        for reduction in [*REDUCTIONS, Reduction("count_by", "category")]:
            aggregate = aggregator.aggregate(viewport, CANVAS, reduction)
            assert_grid_equal(aggregate.grid, datashader_grid(unindexed, viewport, reduction))
    deep = aggregator.aggregate(VIEWPORTS[2], CANVAS, Reduction())
    assert 0 < deep.rows_scanned < ROWS // 2  # only partitions near the view were read
    assert aggregator.aggregate(VIEWPORTS[3], CANVAS, Reduction()).rows_scanned == 0


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    """Two worker processes, one thread each, on loopback."""
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as local:
        yield local


def load(settings: Settings) -> DataStore:
    get_store.cache_clear()
    return load_store(get_store(), settings)


def test_cluster_images_equal_the_pandas_backend_and_the_dataset_is_shared(
    cluster: LocalCluster, unindexed: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    common = {
        "rows": ROWS,
        "seed": SEED,
        "width": CANVAS.width,
        "height": CANVAS.height,
        "cache_dir": tmp_path,
    }
    pandas_store = load(Settings(**common))  # type: ignore[arg-type]
    pandas_grids = {
        (v, r): pandas_store.render(v, CANVAS, r).aggregate.grid for v in VIEWPORTS for r in REDUCTIONS
    }
    pandas_store.close()
    scheduler = cluster.scheduler_address
    stores = []
    try:
        with caplog.at_level(logging.INFO, logger="pipeline.dask_backend"):
            for _ in range(2):  # a second process finds the dataset already on the cluster
                store = load(Settings(**common, backend="dask", scheduler=scheduler))  # type: ignore[arg-type]
                assert store.status().state is LoadState.READY, store.status().message()
                stores.append(store)
        assert "persisted and published dataset" in caplog.text
        assert "reusing dataset" in caplog.text
        with Client(scheduler) as client:
            assert len(client.list_datasets()) == 1
        for (viewport, reduction), expected in pandas_grids.items():
            grid = stores[0].render(viewport, CANVAS, reduction).aggregate.grid
            np.testing.assert_allclose(grid, expected, rtol=1e-12, equal_nan=True)
            assert grid.dtype == expected.dtype
        # The reusing process gets the same grids, which before compaction for the wire
        # are Datashader's own.
        for viewport in VIEWPORTS[:3]:
            assert_grid_equal(
                stores[1].dataset.backend.aggregate(viewport, CANVAS, Reduction()).grid,
                datashader_grid(unindexed, viewport, Reduction()),
            )
    finally:
        for store in stores:
            store.close()
        get_store.cache_clear()


def test_a_worker_that_dies_loses_no_image(
    cluster: LocalCluster, unindexed: pd.DataFrame, tmp_path: Path
) -> None:
    store = load(
        Settings(
            rows=ROWS, seed=SEED, cache_dir=tmp_path, backend="dask", scheduler=cluster.scheduler_address
        )
    )
    try:
        viewport = VIEWPORTS[0]
        assert_grid_equal(
            store.dataset.backend.aggregate(viewport, CANVAS, Reduction()).grid,
            datashader_grid(unindexed, viewport, Reduction()),
        )
        with Client(cluster.scheduler_address) as client:
            victim = sorted(client.scheduler_info()["workers"])[0]
            # The worker process dies without replying; its persisted partitions are lost.
            client.run(os._exit, 1, workers=[victim], on_error="ignore")
        for reduction in (Reduction(), Reduction("mean", "value")):
            assert_grid_equal(
                store.dataset.backend.aggregate(viewport, CANVAS, reduction).grid,
                datashader_grid(unindexed, viewport, reduction),
            )
    finally:
        store.close()
        get_store.cache_clear()


def test_an_unreachable_scheduler_fails_the_load_with_its_address(tmp_path: Path) -> None:
    store = load(Settings(rows=1_000, cache_dir=tmp_path, backend="dask", scheduler="tcp://127.0.0.1:9"))
    try:
        status = store.status()
        assert status.state is LoadState.FAILED
        assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in status.message()
    finally:
        store.close()
        get_store.cache_clear()
