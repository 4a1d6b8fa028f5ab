"""Images in the first seconds after a restart against the same views once everything has compiled.

    python -m benchmarks.warm_start [--rows N] [--cache-dir DIR]

Builds the columnar copy once (a first start), then restarts ``bokeh serve app`` on it, times
it to ready, and at once has a ``bokeh.client`` viewer request full views back to back for
``--window`` seconds (each a new view: the image cache is off, so every one is aggregated),
then again from ``--later`` seconds after ready. Reports the median latency of each window and
their ratio, and the time to ready.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from harness import AppClient, ServerProcess

from .startup import wait_until_ready

FULL = (-4.5, 4.5, -4.5, 4.5)  # about every row of the synthetic data
EARLY = 4.0  # s: the first seconds of a window, when the other reductions compiled at once


def full_views(client: AppClient, seconds: float, start: int) -> tuple[list[tuple[float, float]], int]:
    """(seconds since the window began, latency in ms) of distinct full views requested back to
    back for ``seconds``."""
    latencies = []
    began_window = time.perf_counter()
    number = start
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        number += 1
        shift = number * 1e-6  # a new view each time, the same rows in it
        x0, x1, y0, y1 = FULL
        began = time.perf_counter()
        update = client.request_view(x0 + shift, x1 + shift, y0, y1)
        latencies.append((began - began_window, (update.received - began) * 1e3))
    return latencies, number


def window_figures(latencies: list[tuple[float, float]]) -> dict[str, float]:
    """Median and maximum latency of a window, and the median of its first seconds."""
    early = [ms for at, ms in latencies if at < EARLY] or [latencies[0][1]]
    return {
        "images": len(latencies),
        "median_ms": round(statistics.median(ms for _, ms in latencies), 1),
        f"median_first_{EARLY:g}s_ms": round(statistics.median(early), 1),
        "max_ms": round(max(ms for _, ms in latencies), 1),
    }


def run(rows: int, cache_dir: Path, window: float, later: float) -> dict[str, object]:
    app_args = ["--rows", str(rows), "--cache-dir", str(cache_dir), "--cache-mb", "0"]
    with ServerProcess(app_args) as server:  # builds the columnar copy
        wait_until_ready(server, 1, time.monotonic(), timeout=1200)
    launched = time.monotonic()
    with ServerProcess(app_args) as server:
        to_ready = wait_until_ready(server, 1, launched, timeout=600)
        ready = time.monotonic()
        with AppClient(server.url) as client:
            client.wait_for_plot()
            first, number = full_views(client, window, 0)
            time.sleep(max(0.0, ready + later - time.monotonic()))
            settled, _ = full_views(client, window, number)
        compiled = [line for line in server.log().splitlines() if "more reductions in" in line]
    first_median = statistics.median(ms for _, ms in first)
    settled_median = statistics.median(ms for _, ms in settled)
    return {
        "rows": rows,
        "to_ready_s": round(to_ready, 2),
        "first_window": window_figures(first),
        "later_window": window_figures(settled),
        "ratio": round(first_median / settled_median, 2),
        "compiled": compiled[-1] if compiled else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument(
        "--cache-dir", type=Path, help="a folder for the columnar copy (default: a temporary one)"
    )
    parser.add_argument("--window", type=float, default=10.0, help="seconds of each window")
    parser.add_argument("--later", type=float, default=25.0, help="seconds after ready of the second window")
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/warm_start.json"))
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warm-start-cache-") as folder:
        results = run(options.rows, options.cache_dir or Path(folder), options.window, options.later)
    print(json.dumps(results, indent=2))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
