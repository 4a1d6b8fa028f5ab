"""A real ``bokeh serve app`` process, driven by ``bokeh.client``."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from harness import AppClient, ServerProcess
from harness.server import APP_DIR
from pipeline import SyntheticSource, anonymous_bytes

pytestmark = pytest.mark.server

ROWS = 300_000
APP_ARGS = ["--rows", str(ROWS), "--seed", "7"]
# reap closed sessions quickly so memory can be checked after they leave
REAP_FAST = ["--unused-session-lifetime", "300", "--check-unused-sessions", "200"]
MiB = 1 << 20
# After every session has closed, less than one extra session's worth of memory may remain.
RETURN_TOLERANCE = 5 * MiB


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(APP_ARGS, REAP_FAST) as process:
        yield process


def test_the_log_says_where_the_app_runs(server: ServerProcess) -> None:
    # the address a newcomer points the browser at, as `make serve` prints it
    assert f"Bokeh app running at: {server.url}\n" in server.log()


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return SyntheticSource(rows=ROWS, seed=7).load()


def wait_for_log_line(server: ServerProcess, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.log()[-3000:]}"
        time.sleep(0.1)


def expected(frame: pd.DataFrame, ranges: tuple[float, ...], shape: tuple[int, int]) -> np.ndarray:
    x0, x1, y0, y1 = ranges
    cvs = ds.Canvas(plot_width=shape[1], plot_height=shape[0], x_range=(x0, x1), y_range=(y0, y1))
    return cvs.points(frame, "a", "b").values


def test_ranges_set_by_a_client_give_the_matching_image(server: ServerProcess, frame: pd.DataFrame) -> None:
    with AppClient(server.url) as client:
        first = client.wait_for_plot()
        assert first.grid.shape == (600, 800)
        extent = (frame["a"].min(), frame["a"].max(), frame["b"].min(), frame["b"].max())
        np.testing.assert_allclose(first.ranges, extent, rtol=1e-15)  # x + dw may round
        np.testing.assert_array_equal(first.grid, expected(frame, extent, first.grid.shape))
        for ranges in [(0.0, 0.05, 0.0, 0.05), (-1, 1, -2, 2), (-3.5, 0.25, 0.5, 0.75), (0, 1, 0, 1)]:
            before = len(client.updates)
            update = client.request_view(*ranges)
            np.testing.assert_array_equal(update.grid, expected(frame, ranges, update.grid.shape))
            time.sleep(0.2)
            # one image per change of all four ends, none for stale ranges in between
            assert len(client.updates) - before == 1
        assert "rows in view" in (client.text_of("status") or "")


def test_bad_ranges_are_reported_and_others_keep_being_served(server: ServerProcess) -> None:
    with AppClient(server.url) as bad, AppClient(server.url) as good:
        bad.wait_for_plot()
        good.wait_for_plot()
        bad.set_ranges(5.0, 1.0, 0.0, 1.0)
        deadline = time.monotonic() + 10
        while "end &gt; start" not in (bad.text_of("message") or ""):
            assert time.monotonic() < deadline, bad.text_of("message")
            time.sleep(0.05)
        assert "x range must have end &gt; start, got start=5.0, end=1.0" in (bad.text_of("message") or "")
        good.request_view(-0.5, 0.5, -0.5, 0.5)
        update = bad.request_view(-1.0, 1.0, -1.0, 1.0)  # the bad session recovers too
        assert update.grid.sum() > 0
        assert bad.text_of("message") == ""
    assert "x range must have end > start" in server.log()


@pytest.fixture(scope="module")
def server_without_image_cache() -> Iterator[ServerProcess]:
    # The shared image cache keeps up to --cache-mb of grids after their viewers leave, by
    # design; without it, what a session leaves behind can be measured alone.
    with ServerProcess([*APP_ARGS, "--cache-mb", "0"], REAP_FAST) as process:
        yield process


def test_memory_per_session_is_small_and_returns_after_close(
    server_without_image_cache: ServerProcess,
) -> None:
    server = server_without_image_cache
    # Measured as the server's own memory: the rows it maps from the cache stay resident as
    # file pages whatever the sessions do. Start once every reduction has been compiled.
    wait_for_log_line(server, "more reductions in")
    sessions = 10
    with AppClient(server.url) as first:
        first.wait_for_plot()
        first.request_view(-2.0, 2.0, -2.0, 2.0)
        time.sleep(1.0)
        one_session = anonymous_bytes(server.pid)
        clients = [AppClient(server.url) for _ in range(sessions - 1)]
        try:
            for number, client in enumerate(clients):
                client.wait_for_plot()
                client.request_view(-1.0 - number / 10, 1.0, -1.0, 1.0 + number / 10)  # distinct images
            time.sleep(1.0)
            many_sessions = anonymous_bytes(server.pid)
        finally:
            for client in clients:
                client.close()
    per_session = (many_sessions - one_session) / (sessions - 1)
    assert per_session < 5 * MiB, f"{per_session / MiB:.1f} MiB per extra session"
    deadline = time.monotonic() + 30
    while anonymous_bytes(server.pid) > one_session + RETURN_TOLERANCE and time.monotonic() < deadline:
        time.sleep(0.5)
    after = anonymous_bytes(server.pid)
    assert after <= one_session + RETURN_TOLERANCE, (
        f"{after / MiB:.1f} MiB after close vs {one_session / MiB:.1f} MiB with one session"
    )


def test_a_bad_source_shows_its_error_and_keeps_serving(tmp_path: Path) -> None:
    missing = tmp_path / "absent.parquet"
    with ServerProcess(["--source", str(missing)]) as process, AppClient(process.url) as client:
        deadline = time.monotonic() + 60
        while (text := client.text_of("error")) is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "absent.parquet&#x27; does not exist" in text
        with AppClient(process.url) as again:  # the server still serves pages
            assert again.text_of("error") == text
        assert "absent.parquet' does not exist" in process.log()


def test_a_bad_option_stops_the_server_and_lists_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bokeh", "serve", str(APP_DIR), "--port", "0", "--args", "--colour", "red"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "unrecognized arguments: --colour red" in result.stderr
    assert "[--source SOURCE]" in result.stderr and "[--rows ROWS]" in result.stderr


def test_one_sessions_renders_do_not_block_another() -> None:
    # Large unindexed images take long to aggregate; a second viewer's round trips through
    # the same server must not wait for them.
    args = ["--rows", "2000000", "--no-index", "--width", "4096", "--height", "2048"]
    with ServerProcess(args) as process, AppClient(process.url) as busy, AppClient(process.url) as other:
        busy.wait_for_plot(timeout=120)
        other.wait_for_plot(timeout=120)
        started = time.perf_counter()
        for step in range(8):
            busy.set_ranges(-3.0 + step / 100, 3.0, -3.0, 3.0)
            time.sleep(0.02)
        round_trips = []
        metadata = process.url + "/metadata"
        while len(round_trips) < 20:
            sent = time.perf_counter()
            with urllib.request.urlopen(metadata, timeout=10) as response:  # through the event loop
                assert response.status == 200
            round_trips.append(time.perf_counter() - sent)
            time.sleep(0.01)
        small = other.request_view(0.0, 0.05, 0.0, 0.05, timeout=10)  # and the other viewer's images
        assert small.grid.sum() > 0
        busy.wait_for_image(lambda update: update.x == -3.0 + 7 / 100, timeout=120)
        busy_seconds = time.perf_counter() - started
    round_trips.sort()
    assert busy_seconds > 0.3  # the renders really were slow
    assert round_trips[len(round_trips) // 2] < 0.05, round_trips


def test_a_flood_of_range_changes_ends_with_the_last_view(server: ServerProcess, frame: pd.DataFrame) -> None:
    changes = 300
    with AppClient(server.url) as flooding, AppClient(server.url) as other:
        flooding.wait_for_plot()
        other.wait_for_plot()
        before = len(flooding.updates)
        views = [(-2.0 + step / 1000, 2.0, -1.5, 1.5 + step / 1000) for step in range(changes)]
        for view in views:
            flooding.set_ranges(*view)
        last = flooding.wait_for_image(
            lambda u: np.allclose(u.ranges, views[-1], rtol=0, atol=1e-12), timeout=60
        )
        np.testing.assert_array_equal(last.grid, expected(frame, views[-1], last.grid.shape))
        time.sleep(0.5)
        images = len(flooding.updates) - before
        assert images < changes // 2, f"{images} images for {changes} changes"  # stale views skipped
        assert flooding.updates[-1] is last  # nothing stale arrives after the last view
        other.request_view(-0.25, 0.25, -0.25, 0.25)  # the other viewer is still served


def test_a_view_in_the_address_opens_there(server: ServerProcess, frame: pd.DataFrame) -> None:
    from app.address import viewport_query
    from pipeline import Viewport

    view = Viewport(-0.5, 0.75, -0.25, 1.0)
    with AppClient(server.url, arguments=viewport_query(view)) as client:
        first = client.wait_for_plot()
        assert first.x == view.x0 and first.y == view.y0
        np.testing.assert_array_equal(first.grid, expected(frame, (-0.5, 0.75, -0.25, 1.0), first.grid.shape))
    with AppClient(server.url, arguments={"x0": "left", "x1": "1", "y0": "0", "y1": "1"}) as client:
        home = client.wait_for_plot()
        assert home.x == frame["a"].min()  # the whole data instead
        assert "x0=&#x27;left&#x27; in the address is not a number" in (client.text_of("message") or "")
