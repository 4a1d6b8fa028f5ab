"""Load test: many ``bokeh.client`` sessions zooming and panning at once, on loopback only.

    python -m benchmarks.load_test [--rows 70000000] [--sessions 50] [--seconds 60] [--pause 0]
        [--cache-mb MB]

Each session repeatedly asks for a random view (random centre, zoom width from 0.05 to 10)
and waits for its image, then waits ``--pause`` seconds more (0, the default, keeps the server
saturated; a second or so is the pace of a person looking at each view); the run is bounded
by ``--seconds``. Reports images per second, latency percentiles (range change to image at
the client), errors, the server's resident memory over the run, and the event loop's
responsiveness, probed by an HTTP request to the server every 100 ms (its time is the loop's
lag plus a small constant). ``--cache-mb`` is passed to the server (its default when not given):
with 0, the memory figures show what the sessions hold without the shared image cache, which
fills up to its budget during a run. Writes ``load_test.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.app_server import wait_for_log
from harness import AppClient, ServerProcess
from pipeline import rss_bytes

MiB = 1 << 20
PROBE_INTERVAL = 0.1  # s
IMAGE_TIMEOUT = 30.0  # s


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def drive(
    client: AppClient, deadline: float, seed: int, pause: float, latencies: list[float], errors: list[str]
) -> None:
    rng = random.Random(seed)
    time.sleep(rng.uniform(0, pause))  # sessions that pause start apart, as people do
    while time.monotonic() < deadline:
        width = 10 ** rng.uniform(np.log10(0.05), 1.0)
        x, y = rng.gauss(0, 1), rng.gauss(0, 1)
        view = (x - width / 2, x + width / 2, y - width * 0.375, y + width * 0.375)
        try:
            sent = time.perf_counter()
            update = client.request_view(*view, timeout=IMAGE_TIMEOUT)
            latencies.append((update.received - sent) * 1e3)
        except Exception as err:  # a timeout or a dropped connection: count it, keep going
            errors.append(f"{type(err).__name__}: {err}"[:200])
        time.sleep(pause)


def probe(url: str, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            samples.append((time.perf_counter() - started) * 1e3)
        except OSError:
            samples.append(float("inf"))
        time.sleep(PROBE_INTERVAL)


def sample_memory(pid: int, stop: threading.Event, samples: list[float]) -> None:
    while not stop.is_set():
        samples.append(rss_bytes(pid) / MiB)
        time.sleep(1.0)


def run(
    rows: int, sessions: int, seconds: float, pause: float = 0.0, cache_mb: int | None = None
) -> dict[str, object]:
    app_args = ["--rows", str(rows)] + ([] if cache_mb is None else ["--cache-mb", str(cache_mb)])
    with ServerProcess(app_args) as server:
        wait_for_log(server, "ready:", timeout=900)
        clients = [AppClient(server.url) for _ in range(sessions)]
        for client in clients:
            client.wait_for_plot()
        stop = threading.Event()
        lag: list[float] = []
        memory: list[float] = []
        helpers = [
            threading.Thread(target=probe, args=(server.url + "/metadata", stop, lag)),
            threading.Thread(target=sample_memory, args=(server.pid, stop, memory)),
        ]
        for helper in helpers:
            helper.start()
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.monotonic() + seconds
        drivers = [
            threading.Thread(target=drive, args=(client, deadline, number, pause, latencies, errors))
            for number, client in enumerate(clients)
        ]
        started = time.perf_counter()
        for driver in drivers:
            driver.start()
        for driver in drivers:
            driver.join(seconds + IMAGE_TIMEOUT + 10)
        elapsed = time.perf_counter() - started
        stop.set()
        for helper in helpers:
            helper.join()
        for client in clients:
            client.close()
        server_alive = server.process is not None and server.process.poll() is None
    return {
        "rows": rows,
        "sessions": sessions,
        "pause_s": pause,
        "cache_mb": cache_mb,
        "seconds": elapsed,
        "images": len(latencies),
        "images_per_second": len(latencies) / elapsed,
        "latency_ms": {q: percentile(latencies, q) for q in (50, 95, 99)},
        "errors": len(errors),
        "error_examples": errors[:5],
        "memory_mib": {"start": memory[0], "end": memory[-1], "max": max(memory)} if memory else {},
        "probe_ms": {"p50": percentile(lag, 50), "p99": percentile(lag, 99), "max": max(lag, default=0.0)},
        "server_alive": server_alive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds each session waits between views")
    parser.add_argument("--cache-mb", type=int, default=None, help="the server's image cache, MiB")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    options = parser.parse_args()
    report = run(options.rows, options.sessions, options.seconds, options.pause, options.cache_mb)
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "load_test.json").write_text(json.dumps(report, indent=2))
    latency = report["latency_ms"]
    assert isinstance(latency, dict)
    print(
        f"{options.rows:,} rows, {options.sessions} sessions, {report['seconds']:.0f} s, "
        f"{options.pause:g} s between a session's views, image cache "
        + ("default" if options.cache_mb is None else f"{options.cache_mb} MiB")
    )
    print("| images/s | p50 ms | p95 ms | p99 ms | errors | RSS start / end / max MiB | probe p50 / p99 ms |")
    print("|---|---|---|---|---|---|---|")
    memory = report["memory_mib"]
    probe_ms = report["probe_ms"]
    assert isinstance(memory, dict) and isinstance(probe_ms, dict)
    print(
        f"| {report['images_per_second']:.1f} | {latency[50]:.0f} | {latency[95]:.0f} | {latency[99]:.0f} "
        f"| {report['errors']} | {memory.get('start', 0):.0f} / {memory.get('end', 0):.0f} / "
        f"{memory.get('max', 0):.0f} | {probe_ms['p50']:.1f} / {probe_ms['p99']:.1f} |"
    )
    print(f"server alive at the end: {report['server_alive']}; errors: {report['error_examples']}")


if __name__ == "__main__":
    main()
