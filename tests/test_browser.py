"""End to end in headless Chromium (Debian's package, driven by Playwright) against ``bokeh serve``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import ServerProcess
from harness.browser import CHROMIUM, launch_chromium

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"

IMAGE_READY = """() => {
    const doc = window.Bokeh && Bokeh.documents[0];
    const source = doc && doc.get_model_by_name('image_source');
    return Boolean(source && source.data.image.length > 0);
}"""
RECORD_IMAGES = """() => {
    const source = Bokeh.documents[0].get_model_by_name('image_source');
    window.images = [];
    source.connect(source.change, () => window.images.push(
        {x: source.data.x[0], y: source.data.y[0], dw: source.data.dw[0], dh: source.data.dh[0]}));
}"""
RANGES = """() => {
    const plot = Bokeh.documents[0].get_model_by_name('main_plot');
    return [plot.x_range.start, plot.x_range.end, plot.y_range.start, plot.y_range.end];
}"""
FRAME_BOX = """() => {
    const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('main_plot'));
    const page = view.el.getBoundingClientRect();
    const frame = view.frame.bbox;
    return {x: page.left + frame.left, y: page.top + frame.top, width: frame.width, height: frame.height};
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}; install Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(["--rows", "300000"]) as process:
        yield process


class Page:
    """A page of the app, with its JavaScript errors collected."""

    def __init__(self, browser: Any, url: str) -> None:
        self.page = browser.new_page(viewport={"width": 1100, "height": 760})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.goto(url)

    def wait_for_image(self) -> None:
        self.page.wait_for_function(IMAGE_READY, timeout=120_000)
        self.page.evaluate(RECORD_IMAGES)

    def images(self) -> list[dict[str, float]]:
        return list(self.page.evaluate("() => window.images"))

    def ranges(self) -> list[float]:
        return list(self.page.evaluate(RANGES))

    def text(self, name: str) -> str | None:
        found = self.page.evaluate(
            "(name) => { const m = Bokeh.documents[0].get_model_by_name(name); return m ? m.text : null }",
            name,
        )
        return None if found is None else str(found)

    def settle_one_image(self, before: int, timeout: float = 10.0) -> dict[str, float]:
        """Wait for the next image, then make sure no second one follows for the same gesture."""
        deadline = time.monotonic() + timeout
        while len(self.images()) == before:
            assert time.monotonic() < deadline, "no new image"
            time.sleep(0.05)
        time.sleep(0.7)
        images = self.images()
        assert len(images) == before + 1, f"one gesture gave {len(images) - before} images"
        return images[-1]

    def close(self) -> None:
        self.page.close()


def assert_image_matches_ranges(image: dict[str, float], ranges: list[float]) -> None:
    x0, x1, y0, y1 = ranges
    assert image["x"] == pytest.approx(x0, rel=1e-12, abs=1e-12)
    assert image["y"] == pytest.approx(y0, rel=1e-12, abs=1e-12)
    assert image["x"] + image["dw"] == pytest.approx(x1, rel=1e-12, abs=1e-12)
    assert image["y"] + image["dh"] == pytest.approx(y1, rel=1e-12, abs=1e-12)


def painted_fraction(png: bytes) -> float:
    """Share of pixels that are not the page's white background."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((pixels.sum(axis=2) < 3 * 245).mean())


def test_image_drawn_and_each_gesture_renders_once(
    browser: Any, server: ServerProcess, tmp_path: Path
) -> None:
    page = Page(browser, server.url)
    try:
        page.wait_for_image()
        home = page.ranges()
        box = page.page.evaluate(FRAME_BOX)
        time.sleep(0.5)  # let the first image paint
        assert painted_fraction(page.page.screenshot(clip=box)) > 0.2, "the plot area is blank"
        target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "screenshot.png"
        page.page.screenshot(path=str(target))

        centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.page.mouse.move(centre_x, centre_y)
        page.page.mouse.wheel(0, -100)
        zoomed = page.settle_one_image(0)
        assert_image_matches_ranges(zoomed, page.ranges())
        assert page.ranges()[1] - page.ranges()[0] < home[1] - home[0]

        page.page.mouse.move(centre_x, centre_y)
        page.page.mouse.down()
        page.page.mouse.move(centre_x + 120, centre_y + 60, steps=12)
        page.page.mouse.up()
        panned = page.settle_one_image(1)
        assert_image_matches_ranges(panned, page.ranges())
        assert panned["x"] < zoomed["x"] and panned["y"] > zoomed["y"]  # dragged right and down

        page.page.locator(".bk-tool-icon-reset").click()
        reset = page.settle_one_image(2)
        assert page.ranges() == pytest.approx(home, rel=1e-12)
        assert_image_matches_ranges(reset, home)
        assert "rows in view" in (page.text("status") or "")

        # ranges set by page script right after a pan still get their image (Bokeh reports
        # the pan's end after its final ranges)
        page.page.mouse.move(centre_x, centre_y)
        page.page.mouse.down()
        page.page.mouse.move(centre_x - 50, centre_y, steps=5)
        page.page.mouse.up()
        page.page.wait_for_function("() => window.images.length >= 4", timeout=10_000)
        page.page.evaluate(
            "() => { const p = Bokeh.documents[0].get_model_by_name('main_plot');"
            " p.x_range.setv({start: -1, end: 1}); p.y_range.setv({start: -1, end: 1}); }"
        )
        scripted = page.settle_one_image(4)
        assert_image_matches_ranges(scripted, [-1.0, 1.0, -1.0, 1.0])
        assert page.errors == []
    finally:
        page.close()


COLOURS_BY_LEVEL = """() => {
    const doc = Bokeh.documents[0];
    const mapper = doc.get_model_by_name('main_plot').renderers[0].glyph.color_mapper;
    const image = doc.get_model_by_name('image_source').data.image[0];
    const rgba = mapper.rgba_mapper.v_compute(image);
    const colours = {};
    for (let i = 0; i < image.length; i++)
        colours[image[i]] = Array.from(rgba.slice(4 * i, 4 * i + 4));
    return {installed: mapper.fast_count_scan === true, colours, palette: mapper.palette};
}"""


def test_counts_are_coloured_by_equal_histogram_in_one_pass(browser: Any, server: ServerProcess) -> None:
    page = Page(browser, server.url)
    try:
        page.wait_for_image()
        found = page.page.evaluate(COLOURS_BY_LEVEL)
        assert found["installed"]
        palette = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in found["palette"]]
        levels = sorted(int(level) for level in found["colours"])
        assert levels[0] == 0 and found["colours"]["0"][3] == 0  # empty pixels are transparent
        indices = [palette.index(tuple(found["colours"][str(level)][:3])) for level in levels[1:]]
        assert indices[0] == 0 and indices[-1] == len(palette) - 1  # the full palette is used
        assert indices == sorted(indices)  # more rows never get a lower colour
        assert page.errors == []
    finally:
        page.close()


def test_the_address_carries_the_view(browser: Any, server: ServerProcess) -> None:
    page = Page(browser, server.url + "?x0=-1&x1=1.5&y0=-0.5&y1=2")
    try:
        page.wait_for_image()
        assert page.ranges() == [-1.0, 1.5, -0.5, 2.0]
        box = page.page.evaluate(FRAME_BOX)
        centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.page.mouse.move(centre_x, centre_y)
        page.page.mouse.down()
        page.page.mouse.move(centre_x + 80, centre_y, steps=5)
        page.page.mouse.up()
        page.settle_one_image(0)
        query = page.page.evaluate("() => Object.fromEntries(new URLSearchParams(window.location.search))")
        assert [float(query[key]) for key in ("x0", "x1", "y0", "y1")] == page.ranges()
        assert page.errors == []
    finally:
        page.close()


def test_choosing_mean_recolours_without_errors(browser: Any, server: ServerProcess) -> None:
    page = Page(browser, server.url)
    try:
        page.wait_for_image()
        page.page.evaluate("() => { Bokeh.documents[0].get_model_by_name('reduction').value = 'mean' }")
        page.settle_one_image(0)
        kind = page.page.evaluate(
            "() => Bokeh.documents[0].get_model_by_name('image_source').data.image[0].dtype"
        )
        assert kind == "float64"
        time.sleep(0.3)
        box = page.page.evaluate(FRAME_BOX)
        assert painted_fraction(page.page.screenshot(clip=box)) > 0.2
        assert page.errors == []
    finally:
        page.close()


def test_loading_progress_then_plot(browser: Any) -> None:
    with ServerProcess(["--rows", "20000000"]) as slow:
        page = Page(browser, slow.url)
        try:
            page.page.wait_for_function(
                "() => window.Bokeh && Bokeh.documents[0] && Bokeh.documents[0].get_model_by_name('loading')",
                timeout=60_000,
            )
            assert "Loading" in (page.text("loading") or "")
            assert "rows (" in (page.text("loading") or "")  # rows loaded and percent
            page.wait_for_image()
            roots = page.page.evaluate("() => Bokeh.documents[0].roots().map((root) => root.name)")
            assert roots == ["layout"]  # the progress page is gone
            assert page.errors == []
        finally:
            page.close()


def test_bad_source_shows_an_error_page(browser: Any, tmp_path: Path) -> None:
    with ServerProcess(["--source", str(tmp_path / "missing.csv")]) as bad:
        page = Page(browser, bad.url)
        try:
            page.page.wait_for_function(
                "() => window.Bokeh && Bokeh.documents[0] && Bokeh.documents[0].get_model_by_name('error')",
                timeout=60_000,
            )
            assert "missing.csv' does not exist" in page.page.locator("pre").inner_text()
            assert page.errors == []
        finally:
            page.close()
