"""Latency and bytes per image as a person sees them: headless Chromium against ``bokeh serve``.

    python -m benchmarks.browser_latency [--rows 70000000] [--gestures 20] [--pages 10]
        [--views full mid deep] [--spread auto 0]

Measured in the browser's own clock: from the ``wheel`` event (or the ``pointerup`` ending a
drag) to the first canvas repaint after the page drew the new image (its display copy, spread
or not), for full, mid and deep views, median of ``--gestures`` gestures each, for each
``--spread`` choice side by side on one server. Bytes per image update are the loopback bytes the
server process sent while those updates happened (websocket compression on, as ``make serve``
runs it), divided by the number of updates. Then ``--pages`` pages zoom at once and the median
latency is compared with the single page's. Prints a table, writes
``browser_latency.json`` and a Bokeh chart ``browser_latency.html`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.app_server import wait_for_log
from harness import ServerProcess
from harness.browser import launch_chromium

SERVER_ARGS = ["--websocket-compression-level", "1"]
VIEWS = {"full": (-5.0, 5.0), "mid": (-0.5, 0.5), "deep": (0.0, 0.05)}

INSTALL = """() => {
    const doc = Bokeh.documents[0];
    const plot = doc.get_model_by_name('main_plot');
    const source = doc.get_model_by_name('display_source');  // what the image glyph draws
    const view = Bokeh.index.find_one(plot);
    window.bench = {input: null, dataAt: null, images: 0, samples: []};
    const onInput = () => { window.bench.input = performance.now(); window.bench.dataAt = null; };
    view.el.addEventListener('wheel', onInput, {capture: true});
    view.el.addEventListener('pointerup', onInput, {capture: true});
    source.connect(source.change, () => {
        window.bench.images += 1;
        window.bench.dataAt = performance.now();
    });
    view.repainted.connect(() => {
        const b = window.bench;
        if (b.input !== null && b.dataAt !== null) {
            b.samples.push(performance.now() - b.input);
            b.input = null; b.dataAt = null;
        }
    });
    const box = view.el.getBoundingClientRect();
    const frame = view.frame.bbox;
    return {x: box.left + frame.left, y: box.top + frame.top, width: frame.width, height: frame.height};
}"""
SET_VIEW = """([low, high]) => {
    const plot = Bokeh.documents[0].get_model_by_name('main_plot');
    const changed = [plot.x_range.start, plot.x_range.end, plot.y_range.start, plot.y_range.end]
        .some((end, i) => end !== [low, high, low, high][i]);
    plot.x_range.setv({start: low, end: high});
    plot.y_range.setv({start: low, end: high});
    Bokeh.index.find_one(plot).trigger_ranges_update_event();  // as Bokeh's tools report a view
    return changed;
}"""


def open_page(browser: Any, url: str) -> tuple[Any, dict[str, float]]:
    page = browser.new_page(viewport={"width": 1100, "height": 760})
    page.goto(url)
    page.wait_for_function(
        "() => { const d = window.Bokeh && Bokeh.documents[0];"
        " const s = d && d.get_model_by_name('image_source'); return Boolean(s && s.data.image.length); }",
        timeout=600_000,
    )
    box = page.evaluate(INSTALL)
    return page, box


def images(page: Any) -> int:
    return int(page.evaluate("() => window.bench.images"))


def wait_images(page: Any, count: int, timeout: float = 30.0) -> None:
    page.wait_for_function(
        f"() => window.bench.images >= {count} && window.bench.input === null", timeout=timeout * 1000
    )


def go_to(page: Any, view: tuple[float, float]) -> None:
    before = images(page)
    if page.evaluate(SET_VIEW, list(view)):
        wait_images(page, before + 1)
    time.sleep(0.3)


def wheel(page: Any, box: dict[str, float], step: int, variant: int = 0) -> None:
    # in, then out again at a point a few pixels away: the same zoom level, a new view each time
    # (each variant a few pixels lower, so that a later series never repeats a cached view)
    page.mouse.move(box["x"] + box["width"] / 2 + 7 * step, box["y"] + box["height"] / 2 + 5 * variant)
    page.mouse.wheel(0, -100 if step % 2 == 0 else 100)


def drag(page: Any, box: dict[str, float], step: int, variant: int = 0) -> None:
    # always the same way, so that no view repeats (a repeated view would come from the cache);
    # each variant a different way
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y + 20 + 3 * variant, steps=5)
    page.mouse.up()


def gestures(page: Any, box: dict[str, float], kind: str, count: int, variant: int = 0) -> list[float]:
    page.evaluate("() => { window.bench.samples = []; }")
    for step in range(count):
        before = images(page)
        (wheel if kind == "wheel" else drag)(page, box, step, variant)
        wait_images(page, before + 1)
        time.sleep(0.15)
    return list(page.evaluate("() => window.bench.samples"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--gestures", type=int, default=20)
    parser.add_argument("--pages", type=int, default=10, help="pages zooming at once (0: skip)")
    parser.add_argument("--views", nargs="+", choices=list(VIEWS), default=list(VIEWS))
    parser.add_argument(
        "--spread", nargs="+", default=["auto"], help="spread choices to compare (the address's spread=)"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    results: dict[str, Any] = {"rows": options.rows, "gestures": options.gestures, "views": {}}
    with ServerProcess(["--rows", str(options.rows)], SERVER_ARGS) as server, sync_playwright() as playwright:
        wait_for_log(server, "ready:", timeout=900)
        browser = launch_chromium(playwright)
        for variant, spread in enumerate(options.spread):
            page, box = open_page(browser, f"{server.url}?spread={spread}")
            if variant == 0:
                results["default_view"] = default_view(page, options.gestures)
            for name in options.views:
                results["views"][label(name, spread, options.spread)] = measure_view(
                    page, box, VIEWS[name], options.gestures, variant
                )
            page.close()
        if options.pages > 0:
            results["many_pages"] = many_pages(
                browser, server.url, options.pages, options.gestures, variant=len(options.spread)
            )
            results["many_pages"]["single_page_mid_wheel_median_ms"] = (
                results["views"]
                .get(label("mid", options.spread[0], options.spread), {})
                .get("wheel_median_ms")
            )
        browser.close()
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "browser_latency.json").write_text(json.dumps(results, indent=2))
    write_chart(results, options.out / "browser_latency.html")
    print_table(results)


def label(view: str, spread: str, spreads: list[str]) -> str:
    """A table row's name: the view, and the spread choice when several are compared."""
    return view if len(spreads) == 1 else f"{view}, spread={spread}"


def loopback_bytes() -> int:
    return int(psutil.net_io_counters(pernic=True)["lo"].bytes_sent)


def default_view(page: Any, count: int) -> dict[str, float]:
    """Bytes of the update that shows the default view (the whole data, as a page opens),
    reached with the reset tool from the mid view, median of ``count // 4`` (at least 3)."""
    sent = []
    for _ in range(max(count // 4, 3)):
        go_to(page, VIEWS["mid"])
        before, shown = loopback_bytes(), images(page)
        page.locator(".bk-tool-icon-reset").click()
        wait_images(page, shown + 1)
        time.sleep(0.3)  # the histograms follow the image
        sent.append(loopback_bytes() - before)
    return {"bytes_per_update": statistics.median(sent)}


def measure_view(
    page: Any, box: dict[str, float], view: tuple[float, float], count: int, variant: int = 0
) -> dict[str, float]:
    """Wheel and drag latencies and bytes per update around ``view`` (``variant``: gestures
    that differ from those of other variants, so that none is served from the image cache)."""
    go_to(page, view)
    counter_before, images_before = loopback_bytes(), images(page)
    wheel_ms = gestures(page, box, "wheel", count, variant)
    loopback = loopback_bytes() - counter_before
    updates = images(page) - images_before
    go_to(page, view)
    drag_ms = gestures(page, box, "drag", count, variant)
    return {
        "wheel_median_ms": statistics.median(wheel_ms),
        "wheel_min_ms": min(wheel_ms),
        "drag_median_ms": statistics.median(drag_ms),
        "drag_min_ms": min(drag_ms),
        "bytes_per_update": loopback / max(updates, 1),
    }


def many_pages(browser: Any, url: str, page_count: int, gesture_count: int, variant: int) -> dict[str, Any]:
    """Median wheel latency with ``page_count`` pages zooming the mid view at once, each to its
    own views (``variant`` apart from the single-page series)."""
    pages = [open_page(browser, url) for _ in range(page_count)]
    for each, _ in pages:
        go_to(each, VIEWS["mid"])
        each.evaluate("() => { window.bench.samples = []; }")
    for step in range(max(gesture_count // 2, 1)):
        counts = [images(each) for each, _ in pages]
        for offset, (each, each_box) in enumerate(pages):
            wheel(each, each_box, step, variant + offset)
        for (each, _), seen in zip(pages, counts, strict=True):
            wait_images(each, seen + 1, timeout=60)
        time.sleep(0.15)
    together = [ms for each, _ in pages for ms in each.evaluate("() => window.bench.samples")]
    for each, _ in pages:
        each.close()
    return {"pages": page_count, "wheel_median_ms": statistics.median(together), "images": len(together)}


def print_table(results: dict[str, Any]) -> None:
    print(f"{results['rows']:,} rows, median of {results['gestures']} gestures per cell, browser clock")
    print("| view | wheel -> repaint median / min ms | drag end -> repaint median / min ms | KB per update |")
    print("|---|---|---|---|")
    for name, figures in results["views"].items():
        print(
            f"| {name} | {figures['wheel_median_ms']:.0f} / {figures['wheel_min_ms']:.0f} | "
            f"{figures['drag_median_ms']:.0f} / {figures['drag_min_ms']:.0f} | "
            f"{figures['bytes_per_update'] / 1000:.0f} |"
        )
    default = results.get("default_view")
    if default is not None:
        kilobytes = default["bytes_per_update"] / 1000
        print(f"default view (reset to the whole data): {kilobytes:.0f} KB per update")
    many = results.get("many_pages")
    if many is None:
        return
    alone = many["single_page_mid_wheel_median_ms"]
    print(
        f"{many['pages']} pages zooming at once (mid view): median {many['wheel_median_ms']:.0f} ms "
        f"over {many['images']} images; one page alone: "
        + (f"{alone:.0f} ms" if alone is not None else "not measured (the mid view was not among --views)")
    )


def write_chart(results: dict[str, Any], path: Path) -> None:
    from bokeh.io import output_file, save
    from bokeh.models import ColumnDataSource, FactorRange
    from bokeh.plotting import figure
    from bokeh.transform import factor_cmap

    factors = [(view, kind) for view in results["views"] for kind in ("wheel", "drag")]
    medians = [results["views"][view][f"{kind}_median_ms"] for view, kind in factors]
    source = ColumnDataSource({"factors": factors, "median": medians})
    plot = figure(
        x_range=FactorRange(*factors),
        height=400,
        width=700,
        toolbar_location=None,
        title=f"{results['rows']:,} rows: input to repainted image, median ms (browser clock)",
    )
    plot.vbar(
        x="factors",
        top="median",
        width=0.9,
        source=source,
        fill_color=factor_cmap("factors", "Category10_3", ["wheel", "drag"], start=1, end=2),
    )
    output_file(path, title="browser latency")
    save(plot)


if __name__ == "__main__":
    main()
