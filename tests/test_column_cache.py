"""The columnar cache: hit, miss on change, damaged entries rebuilt, concurrent first loads."""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import multiprocessing
import os
import time
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from pipeline import (
    CacheCorrupt,
    Canvas,
    ColumnarCopies,
    DataSource,
    PreparedTable,
    Reduction,
    Settings,
    SyntheticSource,
    Viewport,
    get_store,
    open_source,
    prepare_table,
)
from pipeline.columnar_copy import MANIFEST

from .conftest import load_store


class CountingBuild:
    """A build callback that reads ``source`` and counts its calls."""

    def __init__(self, source: DataSource, indexed: bool = True) -> None:
        self.source = source
        self.indexed = indexed
        self.calls = 0

    def __call__(self) -> PreparedTable:
        self.calls += 1
        frame = self.source.load()
        return prepare_table(frame, self.source.x, self.source.y, indexed=self.indexed, name="test")


def file_mapped(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is a mapping of a file (found by walking its bases)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, mmap.mmap)


def assert_same_table(cached: PreparedTable, fresh: PreparedTable) -> None:
    pd.testing.assert_frame_equal(cached.frame, fresh.frame)
    assert cached.extent == fresh.extent
    assert (cached.index is None) == (fresh.index is None)
    if cached.index is not None and fresh.index is not None:
        np.testing.assert_array_equal(cached.index.cell_starts, fresh.index.cell_starts)
        assert (cached.index.x_origin, cached.index.x_scale, cached.index.y_origin, cached.index.y_scale) == (
            fresh.index.x_origin,
            fresh.index.x_scale,
            fresh.index.y_origin,
            fresh.index.y_scale,
        )


def test_first_open_builds_and_later_opens_map_the_same_table(tmp_path: Path) -> None:
    source = SyntheticSource(rows=30_000, seed=3)
    build = CountingBuild(source)
    cache = ColumnarCopies(tmp_path)
    first, first_hit = cache.open(source, indexed=True, build=build)
    second, second_hit = ColumnarCopies(tmp_path).open(source, indexed=True, build=build)
    assert (first_hit, second_hit, build.calls) == (False, True, 1)
    assert_same_table(second, build())
    # Served from read-only file mappings, categorical codes included.
    for values in [second.frame[c].to_numpy() for c in ("a", "b", "value")] + [
        second.frame["category"].array.codes
    ]:
        assert not values.flags.writeable
        assert file_mapped(values)
    # The process that built the entry also drops its own copy and maps the files.
    assert all(file_mapped(first.frame[c].to_numpy()) for c in ("a", "b"))


def test_unindexed_tables_are_cached_in_their_own_entry(tmp_path: Path) -> None:
    source = SyntheticSource(rows=2_000, seed=1)
    cache = ColumnarCopies(tmp_path)
    assert cache.entry(source, indexed=False) != cache.entry(source, indexed=True)
    build = CountingBuild(source, indexed=False)
    cache.open(source, indexed=False, build=build)
    table, hit = cache.open(source, indexed=False, build=build)
    assert (hit, build.calls) == (True, 1)
    assert table.index is None
    assert_same_table(table, build())


def test_a_changed_file_is_read_again_and_its_old_entry_removed(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    cache = ColumnarCopies(tmp_path / "cache")
    source = open_source(path, x="x", y="y")
    old_entry = cache.entry(source, indexed=True)
    cache.open(source, indexed=True, build=CountingBuild(source))
    path.write_text("x,y\n1,2\n3,4\n5,6\n")
    changed = open_source(path, x="x", y="y")
    build = CountingBuild(changed)
    table, hit = cache.open(changed, indexed=True, build=build)
    assert (hit, build.calls, table.rows) == (False, 1, 3)
    assert not old_entry.path.exists()
    assert cache.entry(changed, indexed=True).path.exists()


def _damage_truncate(entry_path: Path) -> None:
    column = entry_path / "column_0.npy"
    with open(column, "r+b") as file:
        file.truncate(column.stat().st_size - 8)


def _damage_overwrite(entry_path: Path) -> None:
    column = entry_path / "column_1.npy"
    with open(column, "r+b") as file:
        file.seek(column.stat().st_size - 16)
        file.write(b"\xff" * 16)


def _damage_manifest(entry_path: Path) -> None:
    (entry_path / MANIFEST).write_text('{"format": 1, "key": ')


def _damage_missing_file(entry_path: Path) -> None:
    (entry_path / "cell_starts.npy").unlink()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_damage_truncate, "holds .* bytes; its manifest says"),
        (_damage_overwrite, "does not match its checksum"),
        (_damage_manifest, "is unreadable"),
        (_damage_missing_file, "is missing"),
    ],
)
def test_a_damaged_entry_is_detected_rebuilt_and_never_served(
    tmp_path: Path, damage: object, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    source = SyntheticSource(rows=5_000, seed=2)
    cache = ColumnarCopies(tmp_path)
    build = CountingBuild(source)
    cache.open(source, indexed=True, build=build)
    entry = cache.entry(source, indexed=True)
    damage(entry.path)  # type: ignore[operator]
    with pytest.raises(CacheCorrupt, match=message):
        cache.read(entry)
    with caplog.at_level(logging.WARNING, logger="pipeline.columnar_copy"):
        table, hit = cache.open(source, indexed=True, build=build)
    assert (hit, build.calls) == (False, 2)
    assert "rebuilding cache entry" in caplog.text
    assert_same_table(table, build())
    assert_same_table(cache.read(entry), table)


def test_a_write_that_fails_half_way_leaves_no_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = SyntheticSource(rows=3_000, seed=4)
    cache = ColumnarCopies(tmp_path)
    build = CountingBuild(source)
    real_save = np.save
    saved: list[object] = []

    def save_then_fail(file: object, array: object, allow_pickle: bool) -> None:
        if saved:
            raise OSError(28, "No space left on device")
        saved.append(file)
        real_save(file, array, allow_pickle=allow_pickle)  # type: ignore[arg-type]

    monkeypatch.setattr(np, "save", save_then_fail)
    table, hit = cache.open(source, indexed=True, build=build)
    assert not hit
    assert table.rows == 3_000  # served from memory even though the cache could not be written
    assert not cache.entry(source, indexed=True).path.exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    _, hit = cache.open(source, indexed=True, build=build)
    assert (hit, build.calls) == (False, 2)


def test_an_unusable_cache_folder_still_serves_the_data(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    source = SyntheticSource(rows=1_000)
    build = CountingBuild(source)
    table, hit = ColumnarCopies(blocker / "cache").open(source, indexed=True, build=build)
    assert (hit, build.calls, table.rows) == (False, 1, 1_000)


def _open_in_another_process(root: str, marker: str) -> tuple[int, bool]:
    source = SyntheticSource(rows=200_000, seed=9)

    def slow_build() -> PreparedTable:
        with open(marker, "a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(1.0)  # long enough that the other process arrives while this one builds
        return prepare_table(source.load(), "a", "b", indexed=True, name="test")

    table, hit = ColumnarCopies(Path(root)).open(source, indexed=True, build=slow_build)
    return int(np.asarray(table.frame["a"]).sum() * 1000), hit


def test_concurrent_first_loads_by_two_processes_build_once(tmp_path: Path) -> None:
    marker = tmp_path / "builds.txt"
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(_open_in_another_process, [(str(tmp_path / "cache"), str(marker))] * 2)
    assert len(marker.read_text().split()) == 1
    assert sorted(hit for _, hit in results) == [False, True]
    assert results[0][0] == results[1][0]
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []


def test_store_loaded_from_the_cache_gives_exact_images(tmp_path: Path) -> None:
    settings = Settings(rows=40_000, seed=5, width=64, height=48, cache_dir=tmp_path)
    unindexed = SyntheticSource(rows=40_000, seed=5).load()
    for expected_from_cache in (False, True):
        get_store.cache_clear()
        store = load_store(get_store(), settings)
        try:
            assert store.dataset.from_cache is expected_from_cache
            viewport = Viewport.from_ranges(-1.0, 1.5, -0.5, 2.0)
            for reduction in (Reduction(), Reduction("mean", "value"), Reduction("max", "value")):
                grid = store.render(viewport, Canvas(64, 48), reduction).aggregate.grid
                expected = ds.Canvas(64, 48, x_range=(-1.0, 1.5), y_range=(-0.5, 2.0)).points(
                    unindexed, "a", "b", reduction.to_datashader()
                )
                np.testing.assert_allclose(grid, expected.values, rtol=1e-12, equal_nan=True)
        finally:
            store.close()
            get_store.cache_clear()
    manifests = list(tmp_path.glob(f"*/{MANIFEST}"))
    assert len(manifests) == 1
    assert json.loads(manifests[0].read_text())["rows"] == 40_000


def test_other_column_sets_of_one_file_keep_their_entries(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("x,y,weight,size\n1,2,0.5,3\n3,4,1.5,4\n")
    cache = ColumnarCopies(tmp_path / "cache")
    entries = []
    for columns in (("weight",), ("size",), ("weight", "size")):
        source = open_source(path, x="x", y="y", extra_columns=columns)
        cache.open(source, indexed=True, build=CountingBuild(source))
        entries.append(cache.entry(source, indexed=True))
    assert len({entry.key for entry in entries}) == 3
    assert all(entry.path.exists() for entry in entries)  # none removed as "an earlier version"


def write_entry(cache: ColumnarCopies, rows: int, last_used: float) -> Path:
    """An entry written (not mapped by this process), last used at ``last_used`` (epoch s)."""
    source = SyntheticSource(rows=rows, seed=rows)
    entry = cache.entry(source, indexed=True)
    cache.write(entry, CountingBuild(source)(), source)
    os.utime(entry.manifest_path, (last_used, last_used))
    return entry.path


def test_the_folder_keeps_to_its_bound_removing_the_least_recently_used(tmp_path: Path) -> None:
    from pipeline.cache_folder import entries_of, trim

    cache = ColumnarCopies(tmp_path)
    now = time.time()
    oldest, older, recent = (write_entry(cache, 3_000 + i, now - 300 + 100 * i) for i in range(3))
    sizes = {entry.path: entry.bytes for entry in entries_of(tmp_path)}
    assert [entry.path for entry in entries_of(tmp_path)] == [oldest, older, recent]
    # another process maps the oldest: it holds the entry's in-use file shared
    with open(tmp_path / f"{oldest.name}.in-use", "a+b") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        removed = trim(tmp_path, sizes[oldest] + sizes[recent])
    assert removed == [older]  # the least recently used that no process maps
    assert oldest.exists() and recent.exists() and not older.exists()
    assert trim(tmp_path, sizes[recent]) == [oldest]  # no longer mapped: removed first
    assert [entry.path for entry in entries_of(tmp_path)] == [recent]


def test_mapping_an_entry_marks_it_used_and_in_use(tmp_path: Path) -> None:
    from pipeline.cache_folder import trim

    cache = ColumnarCopies(tmp_path)
    path = write_entry(cache, 2_000, time.time() - 1_000)
    source = SyntheticSource(rows=2_000, seed=2_000)
    table, hit = cache.open(source, indexed=True, build=CountingBuild(source))
    assert hit and time.time() - cache.entry(source, indexed=True).manifest_path.stat().st_mtime < 60
    assert trim(tmp_path, 0) == []  # this process maps it: it stays, whatever the bound
    assert path.exists() and table.rows == 2_000
