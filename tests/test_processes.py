"""Several server processes and restarts: the rows come from one columnar cache, mapped, never copied."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import psutil
import pytest

from harness import AppClient, ServerProcess
from pipeline import ColumnarCopies, SyntheticSource

pytestmark = pytest.mark.server

ROWS = 200_000
SEED = 21
READY = re.compile(r"ready: [\d,]+ rows in [\d.]+ s \((mapped from the cache|read and indexed)")


def wait_for_ready_lines(server: ServerProcess, count: int, timeout: float = 120) -> list[str]:
    deadline = time.monotonic() + timeout
    while len(found := READY.findall(server.log())) < count:
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.1)
    return found


def expected(frame: pd.DataFrame, ranges: tuple[float, float, float, float]) -> np.ndarray:
    x0, x1, y0, y1 = ranges
    return ds.Canvas(800, 600, x_range=(x0, x1), y_range=(y0, y1)).points(frame, "a", "b").values


def mapped_files(pid: int) -> set[str]:
    return {m.path for m in psutil.Process(pid).memory_maps(grouped=True)}


def test_a_restart_maps_the_rows_written_by_the_first_start(tmp_path: Path) -> None:
    app_args = ["--rows", str(ROWS), "--seed", str(SEED), "--cache-dir", str(tmp_path)]
    frame = SyntheticSource(rows=ROWS, seed=SEED).load()
    for expected_how in ("read and indexed", "mapped from the cache"):
        with ServerProcess(app_args) as server:
            assert wait_for_ready_lines(server, 1) == [expected_how]
            with AppClient(server.url) as client:
                client.wait_for_plot()
                ranges = (-1.0, 0.5, -0.25, 2.0)
                np.testing.assert_array_equal(client.request_view(*ranges).grid, expected(frame, ranges))


def test_two_processes_map_the_same_files_and_serve_exact_images(tmp_path: Path) -> None:
    app_args = ["--rows", str(ROWS), "--seed", str(SEED), "--cache-dir", str(tmp_path)]
    frame = SyntheticSource(rows=ROWS, seed=SEED).load()
    with ServerProcess(app_args, ["--num-procs", "2"]) as server:
        how = wait_for_ready_lines(server, 2)
        # One process read and wrote the cache while the other waited for it, then mapped it.
        assert sorted(how) == ["mapped from the cache", "read and indexed"]
        entry = ColumnarCopies(tmp_path).entry(SyntheticSource(rows=ROWS, seed=SEED), indexed=True)
        children = psutil.Process(server.pid).children()
        assert len(children) == 2
        for child in children:
            assert str(entry.path / "column_0.npy") in mapped_files(child.pid)
            assert str(entry.path / "column_1.npy") in mapped_files(child.pid)
        views = [(-1.0 - i / 10, 1.0, -2.0, 0.5 + i / 10) for i in range(6)]
        clients = [AppClient(server.url) for _ in views]
        try:
            for client in clients:
                client.wait_for_plot()
            for client, ranges in zip(clients, views, strict=True):
                np.testing.assert_array_equal(client.request_view(*ranges).grid, expected(frame, ranges))
        finally:
            for client in clients:
                client.close()
        # The parent only waits for its children: it has no handler, and SIGTERM ends it.
        assert server.stop() == -signal.SIGTERM
        # Stopping the parent stops the processes it forked (Bokeh does not pass the signal on).
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], f"still running after the parent stopped: {alive}"
        assert server.log().count("released the data and render threads") == 2
