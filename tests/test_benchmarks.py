"""Small-size runs of the benchmarks, so that they cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import aggregation


def test_aggregation_benchmark_smoke(tmp_path: Path) -> None:
    report = aggregation.run(rows=20_000, repeats=1, out=tmp_path)  # raises if any grid is not exact
    written = json.loads((tmp_path / "aggregation.json").read_text())
    assert set(written["summary"]) == {
        "datashader",
        "holoviews",
        "dask",
        "indexed 1 thread",
        "indexed",
        "indexed + cache",
    }
    for views in written["summary"].values():
        assert set(views) == {"full", "mid", "deep", "pan"}
        assert all(figures["median_ms"] >= 0 for figures in views.values())
    assert written["rows_in_view"]["full"] > written["rows_in_view"]["mid"] > written["rows_in_view"]["deep"]
    assert "Bokeh" in (tmp_path / "aggregation.html").read_text()
    table = aggregation.format_table(report)
    assert table.count("\n") == 1 + len(written["summary"])


def test_load_test_smoke() -> None:
    from benchmarks import load_test

    report = load_test.run(rows=20_000, sessions=2, seconds=2.0, cache_mb=0)
    assert report["errors"] == 0 and report["server_alive"] and report["cache_mb"] == 0
    assert report["images"] > 0


@pytest.mark.browser
@pytest.mark.server
def test_browser_latency_benchmark_smoke(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.browser_latency", "--rows", "20000", "--gestures", "4"]
    command += ["--views", "deep", "--pages", "2", "--out", str(tmp_path)]
    subprocess.run(command, check=True, timeout=600, cwd=Path(__file__).resolve().parents[1])
    written = json.loads((tmp_path / "browser_latency.json").read_text())
    deep = written["views"]["deep"]
    assert deep["wheel_median_ms"] > 0 and deep["drag_median_ms"] > 0 and deep["bytes_per_update"] > 0
    assert written["default_view"]["bytes_per_update"] > 0
    assert written["many_pages"]["images"] == 2 * 2  # both pages got an image for each gesture


@pytest.mark.server
def test_warm_start_benchmark_smoke(tmp_path: Path) -> None:
    from benchmarks import warm_start

    report = warm_start.run(rows=20_000, cache_dir=tmp_path, window=1.0, later=2.0)
    first, later = report["first_window"], report["later_window"]
    assert first["images"] > 0 and later["images"] > 0
    assert first["max_ms"] >= first["median_ms"] > 0 and report["ratio"] > 0
