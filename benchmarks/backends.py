"""The three ways of aggregating, side by side: indexed pandas, Dask in-process, a Dask cluster.

    python -m benchmarks.backends [--rows N] [--repeats 5] [--cache-dir DIR] [--workers 2]

Maps the synthetic table from the columnar cache (building it first if needed), then times
one 800x600 count image of the full, mid and deep views, round-robin ``--repeats`` times,
with each backend: the indexed pandas aggregator on two threads, Datashader's Dask path on
Hilbert-ordered partitions in this process, and the same on a ``distributed.LocalCluster``
(``--workers`` worker processes of one thread each, mapping the cache themselves). Every
grid is checked equal to the pandas backend's. Reports medians, and the proportional set
size of this process and of the workers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
from distributed import LocalCluster

from pipeline import (
    Canvas,
    ColumnarCopies,
    DaskBackend,
    Reduction,
    RowRangeBackend,
    SyntheticSource,
    Viewport,
    default_cache_dir,
    prepare_table,
    pss_bytes,
)

MiB = 1 << 20
CANVAS = Canvas(800, 600)
VIEWS = {
    "full": Viewport.from_ranges(-5.0, 5.0, -5.0, 5.0),
    "mid": Viewport.from_ranges(-0.5, 0.5, -0.5, 0.5),
    "deep": Viewport.from_ranges(0.0, 0.05, 0.0, 0.05),
}


def run(rows: int, repeats: int, cache_dir: Path, workers: int) -> dict[str, object]:
    source = SyntheticSource(rows=rows)
    cache = ColumnarCopies(cache_dir)
    table, _ = cache.open(
        source, indexed=True, build=lambda: prepare_table(source.load(), "a", "b", indexed=True, name="bench")
    )
    entry = cache.entry(source, indexed=True)
    pool = ThreadPoolExecutor(1)
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        started = time.perf_counter()
        on_cluster = DaskBackend.on_cluster(table, entry, cluster.scheduler_address)
        persist_seconds = time.perf_counter() - started
        backends: dict[str, Callable[[Viewport], np.ndarray]] = {
            "indexed pandas, 2 threads": lambda v: (
                RowRangeBackend(table.frame, x="a", y="b", index=table.index, pool=pool, threads=2)
                .aggregate(v, CANVAS, Reduction())
                .grid
            ),
            "Dask in-process (threads)": _grid_of(
                DaskBackend.in_process(table, token=entry.key, threads=2)
            ),
            f"Dask LocalCluster ({workers} workers)": _grid_of(on_cluster),
        }
        reference = {name: backends["indexed pandas, 2 threads"](view) for name, view in VIEWS.items()}
        times: dict[str, dict[str, list[float]]] = {b: {v: [] for v in VIEWS} for b in backends}
        for grid_of in backends.values():
            for name, view in VIEWS.items():  # warm-up: compile, first touch of the pages
                np.testing.assert_array_equal(grid_of(view), reference[name])
        for _ in range(repeats):
            for backend, grid_of in backends.items():
                for name, view in VIEWS.items():
                    start = time.perf_counter()
                    grid_of(view)
                    times[backend][name].append(time.perf_counter() - start)
        worker_pss = sum(
            pss_bytes(child.pid) for child in psutil.Process().children(recursive=True) if child.is_running()
        )
        on_cluster.close()
    pool.shutdown()
    return {
        "rows": rows,
        "persist_on_cluster_s": round(persist_seconds, 2),
        "median_ms": {
            backend: {name: round(statistics.median(t) * 1000, 1) for name, t in views.items()}
            for backend, views in times.items()
        },
        "pss_mib": {"this process": round(pss_bytes() / MiB), "cluster processes": round(worker_pss / MiB)},
    }


def _grid_of(aggregator: DaskBackend) -> Callable[[Viewport], np.ndarray]:
    return lambda view: aggregator.aggregate(view, CANVAS, Reduction()).grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/backends.json"))
    options = parser.parse_args()
    results = run(options.rows, options.repeats, options.cache_dir, options.workers)
    print(f"{options.rows:,} rows, 800x600 count, median of {options.repeats} (ms); all grids equal")
    print(f"{'backend':32} {'full':>8} {'mid':>8} {'deep':>8}")
    for backend, views in results["median_ms"].items():  # type: ignore[attr-defined]
        print(f"{backend:32} {views['full']:>8} {views['mid']:>8} {views['deep']:>8}")
    print(f"persisted on the cluster in {results['persist_on_cluster_s']} s; PSS MiB {results['pss_mib']}")
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
