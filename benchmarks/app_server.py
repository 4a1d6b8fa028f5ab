"""End-to-end figures of a real ``bokeh serve app``: memory per viewer and range-to-image latency.

    python -m benchmarks.app_server [--rows N] [--sessions 20] [--repeats 15]

Starts the server on loopback, waits for the data, then measures the server's resident
memory after load, with one session, with ``--sessions`` sessions that have each rendered
their own view, and after they all close; then, from one ``bokeh.client`` session, the time
from setting the ranges to receiving the image, for full, mid and deep views (each request
slightly shifted so it is computed, not served from the cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from harness import AppClient, ServerProcess
from pipeline import anonymous_bytes, rss_bytes

MiB = 1 << 20
VIEWS = {"full": (-5.0, 5.0), "mid": (-0.5, 0.5), "deep": (0.0, 0.05)}
REAP_FAST = ["--unused-session-lifetime", "1000", "--check-unused-sessions", "500"]
REAP_WAIT = 5.0  # s: closed sessions are reaped well within this under REAP_FAST


def wait_for_log(server: ServerProcess, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{text!r} not logged within {timeout} s:\n{server.log()[-3000:]}")
        time.sleep(0.2)


def memory_of(pid: int) -> dict[str, float]:
    """Resident set size, and the part of it that is the process's own (not mapped files)."""
    return {"rss_mib": rss_bytes(pid) / MiB, "own_mib": anonymous_bytes(pid) / MiB}


def measure_memory(server: ServerProcess, sessions: int) -> dict[str, dict[str, float]]:
    figures = {"after load": memory_of(server.pid)}
    clients = [AppClient(server.url)]
    clients[0].wait_for_plot()
    clients[0].request_view(-2.0, 2.0, -2.0, 2.0)
    time.sleep(1)
    figures["one session"] = memory_of(server.pid)
    for number in range(1, sessions):
        client = AppClient(server.url)
        client.wait_for_plot()
        client.request_view(-2.0 - number / 50, 2.0, -2.0, 2.0 + number / 50)
        clients.append(client)
    time.sleep(1)
    figures[f"{sessions} sessions"] = memory_of(server.pid)
    figures["per extra session"] = {
        kind: (figures[f"{sessions} sessions"][kind] - figures["one session"][kind]) / (sessions - 1)
        for kind in ("rss_mib", "own_mib")
    }
    for client in clients:
        client.close()
    time.sleep(REAP_WAIT)
    figures["after close"] = memory_of(server.pid)
    return figures


def measure_latency(server: ServerProcess, repeats: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with AppClient(server.url) as client:
        client.wait_for_plot()
        for name, (low, high) in VIEWS.items():
            times = []
            for step in range(repeats):
                shift = (high - low) * 1e-4 * (step + 1)  # a new view each time: computed, not cached
                sent = time.perf_counter()
                update = client.request_view(low + shift, high + shift, low, high)
                times.append((update.received - sent) * 1e3)
            results[name] = {"median_ms": statistics.median(times), "min_ms": min(times)}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/app_server.json"))
    options = parser.parse_args()
    with ServerProcess(["--rows", str(options.rows)], REAP_FAST) as server:
        started = time.perf_counter()
        wait_for_log(server, "ready:", timeout=900)
        ready_seconds = time.perf_counter() - started
        wait_for_log(server, "more reductions in", timeout=300)  # memory settles once all are compiled
        memory = measure_memory(server, options.sessions)
        latency = measure_latency(server, options.repeats)
        ready_line = next(line for line in server.log().splitlines() if "ready:" in line)
    report = {
        "rows": options.rows,
        "ready_s": ready_seconds,
        "ready_log": ready_line,
        "memory": memory,
        "latency": latency,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(report, indent=2))
    print(f"rows: {options.rows:,}; ready after {ready_seconds:.1f} s")
    print(ready_line)
    print("| memory | RSS MiB | own (not file-mapped) MiB |\n|---|---|---|")
    for name, values in memory.items():
        print(f"| {name} | {values['rss_mib']:.1f} | {values['own_mib']:.1f} |")
    print("| view | range change -> image at client, median ms | min ms |\n|---|---|---|")
    for name, figures in latency.items():
        print(f"| {name} | {figures['median_ms']:.1f} | {figures['min_ms']:.1f} |")


if __name__ == "__main__":
    main()
