"""Start-up from the columnar cache, and memory shared by several server processes.

    python -m benchmarks.startup [--rows N] [--procs 4]

With an empty cache folder, starts ``bokeh serve app`` and times it to ready (the data
generated or parsed, indexed and written to the cache); stops it and starts it again
(mapped from the cache); then starts ``--num-procs N`` processes on the same cache. Reports
each time to ready (from the process start, and the store's own load figure from its log)
and the proportional set size (PSS: shared pages divided among the processes sharing
them) of one process against the sum over N.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import psutil

from harness import AppClient, ServerProcess
from pipeline import pss_bytes

MiB = 1 << 20
READY_LINE = re.compile(r"ready: ([\d,]+) rows in ([\d.]+) s \((.*?) in ([\d.]+) s\)")


def wait_until_ready(server: ServerProcess, processes: int, launched: float, timeout: float) -> float:
    """Seconds from the server's start until ``processes`` processes logged that they are ready."""
    deadline = time.monotonic() + timeout
    while len(READY_LINE.findall(server.log())) < processes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not ready within {timeout} s:\n{server.log()[-3000:]}")
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log()[-3000:]}")
        time.sleep(0.05)
    return time.monotonic() - launched


def serving_pids(server: ServerProcess) -> list[int]:
    """The processes that hold data: the server itself, or its forked children."""
    children = psutil.Process(server.pid).children()
    return [child.pid for child in children] or [server.pid]


def start(rows: int, cache_dir: Path, processes: int) -> dict[str, object]:
    server_args = ["--num-procs", str(processes)] if processes > 1 else []
    app_args = ["--rows", str(rows), "--cache-dir", str(cache_dir)]
    launched = time.monotonic()
    with ServerProcess(app_args, server_args) as server:
        to_ready = wait_until_ready(server, processes, launched, timeout=600)
        # Every process draws at least one image, as a viewer would make it do.
        clients = [AppClient(server.url) for _ in range(processes * 2)]
        for client in clients:
            client.wait_for_plot()
        for client in clients:
            client.close()
        time.sleep(1)
        pids = serving_pids(server)
        pss = [pss_bytes(pid) / MiB for pid in pids]
        store_figures = READY_LINE.findall(server.log())
        return {
            "processes": len(pids),
            "to_ready_s": round(to_ready, 2),
            "store_ready_s": [float(f[1]) for f in store_figures],
            "how": sorted({f[2] for f in store_figures}),
            "pss_mib": [round(p, 1) for p in pss],
            "pss_total_mib": round(sum(pss), 1),
            "parent_pss_mib": round(pss_bytes(server.pid) / MiB, 1) if processes > 1 else 0.0,
        }


def run(rows: int, processes: int) -> dict[str, dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="startup-cache-") as folder:
        cache_dir = Path(folder)
        return {
            "first load (empty cache)": start(rows, cache_dir, 1),
            "restart (from cache)": start(rows, cache_dir, 1),
            f"--num-procs {processes} (from cache)": start(rows, cache_dir, processes),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/startup.json"))
    options = parser.parse_args()
    results = run(options.rows, options.procs)
    print(f"{options.rows:,} rows")
    print(f"{'case':32} {'procs':>5} {'to ready s':>11} {'store s':>14} {'PSS MiB (sum)':>14}")
    for case, figures in results.items():
        store_seconds = ", ".join(f"{s:.1f}" for s in figures["store_ready_s"])  # type: ignore[attr-defined]
        print(
            f"{case:32} {figures['processes']:>5} {figures['to_ready_s']:>11} {store_seconds:>14} "
            f"{figures['pss_total_mib']:>14}"
        )
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps({"rows": options.rows, "results": results}, indent=2))


if __name__ == "__main__":
    main()
