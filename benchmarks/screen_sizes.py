"""Bytes and render time per image at the sizes real screens give the plot.

    python -m benchmarks.screen_sizes [--rows N]

First, headless Chromium opens the app at each window size and device pixel ratio and reads
the grid the page received (the plot frame's size in device pixels). Then the store, in this
process, renders the full view of ``--rows`` rows at each of those grid sizes (the image cache
off, so each one is aggregated), and reports the median render time, the packed grid's bytes
and what the websocket's deflate at level 1 (``make serve``) makes of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import zlib
from pathlib import Path
from typing import Any

from harness import ServerProcess
from harness.browser import launch_chromium
from pipeline import Canvas, Reduction, Settings, Viewport, get_store

SCREENS = ((1280, 800, 1), (1920, 1080, 1), (1440, 900, 2))  # CSS width, height, devicePixelRatio
GRID_SHAPE = """() => {
    const doc = window.Bokeh && Bokeh.documents[0]
    const source = doc && doc.get_model_by_name('image_source')
    const grid = source && source.data.image[0]
    const view = grid && Bokeh.index.find_one(doc.get_model_by_name('main_plot'))
    const frame = view && view.frame.bbox
    const ratio = devicePixelRatio
    const wanted = frame && [Math.round(frame.height * ratio), Math.round(frame.width * ratio)]
    return wanted && grid.shape[0] == wanted[0] && grid.shape[1] == wanted[1] ? grid.shape : null
}"""  # the grid once it has the frame's size in device pixels
SETTLE_MS = 3000
REPEATS = 5
FULL = Viewport(-4.5, 4.5, -4.5, 4.5)


def page_grids(shots: Path) -> dict[str, tuple[int, int]]:
    """The grid (columns, rows) a page receives at each screen, from a small server; a
    screenshot of each page goes to ``shots``."""
    from playwright.sync_api import sync_playwright

    grids = {}
    with ServerProcess(["--rows", "100000", "--no-cache"]) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for width, height, ratio in SCREENS:
            page: Any = browser.new_page(
                viewport={"width": width, "height": height}, device_scale_factor=ratio
            )
            page.goto(server.url)
            page.wait_for_timeout(SETTLE_MS)  # the first image comes at the default size, before the fit
            rows, columns = page.wait_for_function(GRID_SHAPE, timeout=60_000).json_value()
            grids[f"{width}x{height} @{ratio}x"] = (columns, rows)
            page.screenshot(path=str(shots / f"window-{width}x{height}@{ratio}x.png"))
            page.close()
        browser.close()
    return grids


def deflated_bytes(data: bytes) -> int:
    """Bytes of ``data`` after raw deflate at level 1, as permessage-deflate sends it."""
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return len(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))


def render_figures(rows: int, grids: dict[str, tuple[int, int]]) -> dict[str, dict[str, float]]:
    store = get_store()
    store.start(Settings(rows=rows, cache_mb=0))
    store.wait_ready()
    figures = {}
    for screen, (columns, grid_rows) in grids.items():
        canvas = Canvas(columns, grid_rows)
        times, packed = [], None
        for repeat in range(REPEATS + 1):  # the first compiles for this size's dtype, if need be
            shift = (repeat + 1) * 1e-6
            view = Viewport(FULL.x0 + shift, FULL.x1 + shift, FULL.y0, FULL.y1)
            started = time.perf_counter()
            aggregate = store.render(view, canvas, Reduction()).aggregate
            times.append((time.perf_counter() - started) * 1e3)
            packed = aggregate.packed
        assert packed is not None
        figures[screen] = {
            "grid": f"{columns}x{grid_rows}",
            "pixels": columns * grid_rows,
            "render_median_ms": round(statistics.median(times[1:]), 1),
            "packed_kb": round(packed.nbytes / 1e3, 1),
            "deflated_kb": round(deflated_bytes(packed.data.tobytes()) / 1e3, 1),
        }
    store.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/results/screen_sizes.json"))
    options = parser.parse_args()
    options.output.parent.mkdir(parents=True, exist_ok=True)
    figures = render_figures(options.rows, page_grids(options.output.parent))
    print(f"{options.rows:,} rows, full view, count")
    print(f"{'screen':16} {'grid':>10} {'render ms':>10} {'packed KB':>10} {'deflated KB':>12}")
    for screen, row in figures.items():
        print(
            f"{screen:16} {row['grid']:>10} {row['render_median_ms']:>10} {row['packed_kb']:>10} "
            f"{row['deflated_kb']:>12}"
        )
    options.output.write_text(json.dumps({"rows": options.rows, "screens": figures}, indent=2))


if __name__ == "__main__":
    main()
