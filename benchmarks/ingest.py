"""How fast the file sources read: CSV and Parquet megabytes per second.

    python -m benchmarks.ingest [--rows 10000000] [--repeats 3]

Writes ``--rows`` rows of ``x``, ``y`` (standard normal, full float64 precision) and
``value`` to a CSV and a Parquet file in a temporary folder, then reads each with the
app's source (the columns converted to a pandas frame, progress reported), round-robin
``--repeats`` times. Reports the median seconds, file megabytes per second and rows per
second; the first read of each file warms the OS cache, so the figures are for parsing,
not the disk.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pipeline import open_source

MB = 1_000_000


def write_files(rows: int, folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    table = pa.table(
        {"x": rng.standard_normal(rows), "y": rng.standard_normal(rows), "value": rng.exponential(1.0, rows)}
    )
    paths = {"csv": folder / "points.csv", "parquet": folder / "points.parquet"}
    pacsv.write_csv(table, paths["csv"])
    pq.write_table(table, paths["parquet"], row_group_size=1 << 20)
    return paths


def run(rows: int, repeats: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="ingest-") as folder:
        paths = write_files(rows, Path(folder))
        sources = {
            kind: open_source(path, x="x", y="y", extra_columns=["value"]) for kind, path in paths.items()
        }
        for source in sources.values():
            source.load()  # the OS cache now holds the file
        times: dict[str, list[float]] = {kind: [] for kind in sources}
        for _ in range(repeats):
            for kind, source in sources.items():
                started = time.perf_counter()
                frame = source.load()
                times[kind].append(time.perf_counter() - started)
                assert len(frame) == rows
                del frame
        results = {}
        for kind, seconds in times.items():
            median = statistics.median(seconds)
            size = paths[kind].stat().st_size
            results[kind] = {
                "file_mb": round(size / MB, 1),
                "median_s": round(median, 3),
                "mb_per_s": round(size / MB / median, 1),
                "rows_per_s": round(rows / median),
            }
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/ingest.json"))
    options = parser.parse_args()
    results = run(options.rows, options.repeats)
    print(f"{options.rows:,} rows, median of {options.repeats}")
    print(f"{'format':8} {'file MB':>9} {'median s':>9} {'MB/s':>8} {'rows/s':>12}")
    for kind, figures in results.items():
        print(
            f"{kind:8} {figures['file_mb']:>9} {figures['median_s']:>9} {figures['mb_per_s']:>8} "
            f"{figures['rows_per_s']:>12,}"
        )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"rows": options.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
