"""End to end in headless Chromium (Debian's package, driven by Playwright) against ``bokeh serve``.

Each test opens its pages with the ``open_page`` fixture (or takes ``home_page``, the app at its
home view with its first image), which closes them when the test ends. The page helpers live in
:mod:`harness.page`; the ``assert_*`` helpers here say what the app should do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from harness import ServerProcess
from harness.browser import launch_chromium
from harness.page import PAGE_POINT, SCREENSHOT_SCALE, SCREENSHOT_VIEWPORT, VIEWPORT, Page, painted_fraction

pytestmark = [pytest.mark.browser, pytest.mark.server]

DOCS = Path(__file__).resolve().parent.parent / "docs"
# opens a page of the app at an address, optionally in a window of another size and scale
OpenPage = Callable[..., Page]
SCREENSHOT = DOCS / "screenshot.png"
HOVER_SCREENSHOT = DOCS / "hover.png"
HISTOGRAMS_SCREENSHOT = DOCS / "histograms.png"
CATEGORIES_SCREENSHOT = DOCS / "categories.png"

IMAGE_DTYPE = "() => Bokeh.documents[0].get_model_by_name('image_source').data.image[0].dtype"
ZOOM_ABOUT = """([x, y]) => {  // zoom in twice about (x, y), as a script in the page would
    const plot = Bokeh.documents[0].get_model_by_name('main_plot');
    for (const [range, at] of [[plot.x_range, x], [plot.y_range, y]])
        range.setv({start: at - (at - range.start) / 2, end: at + (range.end - at) / 2});
    Bokeh.index.find_one(plot).trigger_ranges_update_event();
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (a test marked ``browser`` skips or fails in conftest where none can run)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(["--rows", "300000"]) as process:
        yield process


@pytest.fixture
def open_page(browser: Any) -> Iterator[OpenPage]:
    """``open_page(url)`` opens a page of the app (in a window of ``viewport`` CSS pixels, ``scale``
    device pixels each); each page it opened is closed when the test ends, however it ends. (A
    server fixture the test asks for before this one stops after the pages are closed: pytest
    tears fixtures down in the reverse order it set them up.)"""
    with ExitStack() as opened:

        def open_(url: str, viewport: dict[str, int] = VIEWPORT, scale: float = 1) -> Page:
            page = Page(browser, url, viewport, scale)
            opened.callback(page.close)
            return page

        yield open_


@pytest.fixture
def home_page(server: ServerProcess, open_page: OpenPage) -> Page:
    """A page of the app at its home view, its first image arrived (later ones are recorded)."""
    page = open_page(server.url)
    page.wait_for_image()
    return page


@pytest.fixture
def readme_page(server: ServerProcess, open_page: OpenPage) -> Page:
    """The home page in the window of the README's screenshots: 1440 x 900 at 2 device pixels."""
    page = open_page(server.url, SCREENSHOT_VIEWPORT, SCREENSHOT_SCALE)
    page.wait_for_image()
    return page


def assert_image_matches_ranges(image: dict[str, float], ranges: list[float]) -> None:
    x0, x1, y0, y1 = ranges
    assert image["x"] == pytest.approx(x0, rel=1e-12, abs=1e-12)
    assert image["y"] == pytest.approx(y0, rel=1e-12, abs=1e-12)
    assert image["x"] + image["dw"] == pytest.approx(x1, rel=1e-12, abs=1e-12)
    assert image["y"] + image["dh"] == pytest.approx(y1, rel=1e-12, abs=1e-12)


# counts the times BokehJS lays out any of the three plots again
COUNT_LAYOUTS = """() => {
    window.layouts = 0;
    for (const name of ['main_plot', 'x_histogram', 'y_histogram']) {
        const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name(name));
        const compute_layout = view.compute_layout.bind(view);
        view.compute_layout = () => { window.layouts += 1; compute_layout(); };
    }
}"""


def test_image_drawn_and_each_gesture_renders_once(readme_page: Page, tmp_path: Path) -> None:
    page = readme_page
    home = page.ranges()
    box = page.frame_box()
    time.sleep(0.5)  # let the first image paint
    # as painted as at one device pixel a pixel: the same rows over SCREENSHOT_SCALE**2 times the pixels
    assert painted_fraction(page.page.screenshot(clip=box)) > 0.2 / SCREENSHOT_SCALE**2, (
        "the plot area is blank"
    )
    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "screenshot.png"
    page.page.screenshot(path=str(target))

    centre_x, centre_y = page.frame_centre()
    page.page.mouse.move(centre_x, centre_y)
    page.page.mouse.wheel(0, -100)
    zoomed = page.settle_one_image(0)
    assert_image_matches_ranges(zoomed, page.ranges())
    assert page.ranges()[1] - page.ranges()[0] < home[1] - home[0]

    page.sent.clear()
    page.drag(centre_x, centre_y, 120, 60, steps=12)
    panned = page.settle_one_image(1)
    assert_image_matches_ranges(panned, page.ranges())
    assert panned["x"] < zoomed["x"] and panned["y"] > zoomed["y"]  # dragged right and down
    # twelve steps of a drag, and the server heard of its final view alone
    reports = [frame for frame in page.sent if '"rangesupdate"' in frame]
    assert len(reports) == 1, page.sent
    assert not [frame for frame in page.sent if "ModelChanged" in frame], page.sent

    page.page.locator(".bk-tool-icon-reset").click()
    reset = page.settle_one_image(2)
    assert page.ranges() == pytest.approx(home, rel=1e-12)
    assert_image_matches_ranges(reset, home)
    assert "rows in view" in (page.text("status") or "")
    assert page.errors == []


def test_a_page_script_that_sets_the_ranges_right_after_a_pan_gets_their_image(home_page: Page) -> None:
    # the script reports the ranges as Bokeh's tools do
    page = home_page
    page.wait_until_no_new_image()  # the images counted are the pan's and the script's
    centre_x, centre_y = page.frame_centre()
    page.drag(centre_x, centre_y, -50, 0, steps=5)
    page.page.wait_for_function("() => window.images.length >= 1", timeout=10_000)
    page.page.evaluate(
        "() => { const p = Bokeh.documents[0].get_model_by_name('main_plot');"
        " p.x_range.setv({start: -1, end: 1}); p.y_range.setv({start: -1, end: 1});"
        " Bokeh.index.find_one(p).trigger_ranges_update_event(); }"
    )
    scripted = page.settle_one_image(1)
    assert_image_matches_ranges(scripted, [-1.0, 1.0, -1.0, 1.0])
    assert page.errors == []


def test_far_in_the_plots_are_only_painted_again_and_another_reduction_keeps_the_view(
    home_page: Page,
) -> None:
    page = home_page
    page.wait_until_no_new_image()  # the images counted are the view's and the reduction's
    # far in: every tick label is longer, the colours and histograms are new, and the plots
    # were only painted again, not laid out again
    page.page.evaluate(COUNT_LAYOUTS)
    page.page.evaluate(
        "() => { const p = Bokeh.documents[0].get_model_by_name('main_plot');"
        " p.x_range.setv({start: 0.0125, end: 0.0375}); p.y_range.setv({start: 0.0125, end: 0.0375});"
        " Bokeh.index.find_one(p).trigger_ranges_update_event(); }"
    )
    far = page.settle_one_image(0)
    assert page.page.evaluate("() => window.layouts") == 0

    # another reduction is aggregated over the view the page shows, which the server knows
    # from the page's reports alone
    page.page.get_by_label("Each pixel shows").select_option("mean")
    mean = page.settle_one_image(1)
    assert_image_matches_ranges(mean, [0.0125, 0.0375, 0.0125, 0.0375])
    assert [mean[key] for key in ("x", "y", "dw", "dh")] == [far[key] for key in ("x", "y", "dw", "dh")]
    assert page.errors == []


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


def test_counts_are_coloured_by_equal_histogram_in_one_pass(home_page: Page) -> None:
    page = home_page
    found = page.page.evaluate(COLOURS_BY_LEVEL)
    assert found["installed"]
    palette = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in found["palette"]]
    levels = sorted(int(level) for level in found["colours"])
    assert levels[0] == 0 and found["colours"]["0"][3] == 0  # empty pixels are transparent
    indices = [palette.index(tuple(found["colours"][str(level)][:3])) for level in levels[1:]]
    assert indices[0] == 0 and indices[-1] == len(palette) - 1  # the full palette is used
    assert indices == sorted(indices)  # more rows never get a lower colour
    assert page.errors == []


def test_the_address_carries_the_view(server: ServerProcess, open_page: OpenPage) -> None:
    page = open_page(server.url + "?x0=-1&x1=1.5&y0=-0.5&y1=2")
    page.wait_for_image()
    assert page.ranges() == [-1.0, 1.5, -0.5, 2.0]
    page.drag(*page.frame_centre(), 80, 0, steps=5)
    page.settle_one_image(0)
    query = page.query()
    assert [float(query[key]) for key in ("x0", "x1", "y0", "y1")] == page.ranges()
    assert page.errors == []


def test_choosing_mean_recolours_without_errors(home_page: Page) -> None:
    page = home_page
    page.page.evaluate("() => { Bokeh.documents[0].get_model_by_name('reduction').value = 'mean' }")
    page.settle_one_image(0)
    assert page.page.evaluate(IMAGE_DTYPE) == "float64"
    time.sleep(0.3)
    box = page.frame_box()
    assert painted_fraction(page.page.screenshot(clip=box)) > 0.2
    assert page.errors == []


def test_histograms_of_means_come_from_the_server_on_the_image_pixels(
    server: ServerProcess, open_page: OpenPage
) -> None:
    # a page that opens on a mean image: its document already holds the server's sums, placed
    # once the grid is unpacked
    page = open_page(server.url + "?agg=mean&column=value")
    page.wait_for_image()
    assert page.page.evaluate(IMAGE_DTYPE) == "float64"
    page.wait_for(lambda: sum(page.page.evaluate(HISTOGRAMS)["per_column"]) == 300_000, "no histograms drawn")
    assert sum(page.page.evaluate(HISTOGRAMS)["per_row"]) == 300_000  # every row, at home
    assert_bars_on_the_pixels(page)
    assert page.errors == [] and page.warnings == []


@pytest.fixture
def slow_server() -> Iterator[ServerProcess]:
    """A server of 20 million rows, which a page sees loading."""
    with ServerProcess(["--rows", "20000000"]) as slow:
        yield slow


def test_loading_progress_then_plot(slow_server: ServerProcess, open_page: OpenPage) -> None:
    page = open_page(slow_server.url)
    page.wait_for_model("loading")
    assert "Loading" in (page.text("loading") or "")
    assert "rows (" in (page.text("loading") or "")  # rows loaded and percent
    page.wait_for_image()
    roots = page.page.evaluate("() => Bokeh.documents[0].roots().map((root) => root.name)")
    assert roots == [
        "title",
        "controls",
        "plots",
        "details",
        "download",
        "image_wire",
        "screen",
    ]  # the progress page is gone
    assert page.errors == []


@pytest.fixture
def bad_server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of a source that does not exist."""
    with ServerProcess(["--source", str(tmp_path / "missing.csv")]) as bad:
        yield bad


def test_bad_source_shows_an_error_page(bad_server: ServerProcess, open_page: OpenPage) -> None:
    page = open_page(bad_server.url)
    page.wait_for_model("error")
    assert "missing.csv' does not exist" in page.page.locator("pre").inner_text()
    assert page.errors == []


def assert_shows_bounds(shown: str, start: float, end: float) -> None:
    """``shown`` is "start to end", rounded to no coarser than a tenth of the pixel."""
    shown_start, to, shown_end = shown.split(" ")
    assert to == "to"
    decimals = len(shown_start.partition(".")[2])
    assert decimals == len(shown_end.partition(".")[2])
    half_unit = 0.5 * 10.0**-decimals
    assert half_unit <= (end - start) / 10
    assert abs(float(shown_start) - start) <= half_unit and abs(float(shown_end) - end) <= half_unit


def assert_readout_drawn_beside(page: Page, x: float, y: float) -> None:
    """The read-out is painted on the plot beside the cursor at (x, y), and only there: the frame
    with it and without it differ, within a few hundred pixels of the cursor."""
    import io

    import numpy as np
    from PIL import Image

    box = page.frame_box()
    shown = page.page.screenshot(clip=box)
    page.page.mouse.move(0, 0)
    page.wait_for(lambda: page.readout() == [], "the read-out did not hide")
    time.sleep(0.3)
    hidden = page.page.screenshot(clip=box)
    shown_pixels = np.asarray(Image.open(io.BytesIO(shown)).convert("RGB")).astype(int)
    hidden_pixels = np.asarray(Image.open(io.BytesIO(hidden)).convert("RGB")).astype(int)
    changed = np.argwhere((shown_pixels != hidden_pixels).any(axis=2))
    scale = shown_pixels.shape[1] / box["width"]  # device pixels per CSS pixel of the screenshot
    assert len(changed) > 500 * scale**2, "the read-out was not drawn"
    rows, columns = changed[:, 0] / scale + box["y"], changed[:, 1] / scale + box["x"]
    assert np.abs(columns - x).max() < 300 and np.abs(rows - y).max() < 120, "drawn away from the cursor"


def test_hover_shows_the_value_and_bounds_of_the_pixel_and_follows_a_new_image(
    readme_page: Page, tmp_path: Path
) -> None:
    page = readme_page
    grid = page.grid()
    i, j = grid.distinct_pixel()
    (value_label, value), (x_label, x_bounds), (y_label, y_bounds) = page.hover(grid, i, j)
    assert (value_label, x_label, y_label) == ("count:", "a:", "b:")
    assert value == str(int(grid.values[j, i]))
    x0, x1, y0, y1 = grid.pixel_bounds(i, j)
    assert_shows_bounds(x_bounds, x0, x1)
    assert_shows_bounds(y_bounds, y0, y1)
    time.sleep(0.3)  # let the read-out paint
    target = HOVER_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "hover.png"
    page.page.screenshot(path=str(target))
    assert_readout_drawn_beside(page, *page.page.evaluate(PAGE_POINT, list(grid.centre(i, j))))

    # a new image under a cursor that stays put: the read-out follows it. The view zooms in
    # about the point under the cursor, which stays under it.
    x, y = grid.centre(i, j)
    page.hover(grid, i, j)
    before = len(page.images())
    page.page.evaluate(ZOOM_ABOUT, [x, y])
    page.settle_one_image(before)
    zoomed = page.grid()
    rows, columns = zoomed.values.shape
    i, j = int((x - zoomed.x) / zoomed.dw * columns), int((y - zoomed.y) / zoomed.dh * rows)
    x0, x1, y0, y1 = zoomed.pixel_bounds(i, j)
    assert x1 - x0 < (grid.dw / grid.values.shape[1]) * 0.6  # pixels of the new image

    def shows_new_pixel() -> bool:
        lines = page.readout()
        return len(lines) == 3 and abs(float(lines[1][1].split()[0]) - x0) < (x1 - x0) / 2

    page.wait_for(shows_new_pixel, f"the read-out kept the former image's pixel: {page.readout()}")
    (_, value), (_, x_bounds), (_, y_bounds) = page.readout()
    assert value == str(int(zoomed.values[j, i]))
    assert_shows_bounds(x_bounds, x0, x1)
    assert_shows_bounds(y_bounds, y0, y1)
    assert page.errors == []


def test_hover_shows_the_mean_of_the_pixel_and_no_rows_where_it_has_none(home_page: Page) -> None:
    page = home_page
    before = len(page.images())
    page.page.get_by_label("Each pixel shows").select_option("mean")
    page.settle_one_image(before)
    grid = page.grid()
    i, j = grid.distinct_pixel()
    (value_label, value), (_, x_bounds), (_, y_bounds) = page.hover(grid, i, j)
    assert value_label == "mean(value):"
    assert float(value) == pytest.approx(grid.values[j, i], rel=5e-6)  # six significant digits
    x0, x1, y0, y1 = grid.pixel_bounds(i, j)
    assert_shows_bounds(x_bounds, x0, x1)
    assert_shows_bounds(y_bounds, y0, y1)
    i, j = grid.empty_pixel()
    assert page.hover(grid, i, j)[0] == ("mean(value):", "no rows")
    assert page.errors == []


RGBA_SHOWN = """() => {
    const doc = Bokeh.documents[0];
    const source = doc.get_model_by_name('rgba_source');
    return source.data.image.length > 0 && doc.get_model_by_name('legend').visible;
}"""


def test_count_by_category_is_drawn_with_its_legend_and_hover(readme_page: Page, tmp_path: Path) -> None:
    page = readme_page
    page.page.get_by_label("Each pixel shows").select_option(label="count by category")
    page.page.wait_for_function(RGBA_SHOWN, timeout=30_000)
    assert page.model("column", "value") == "category"
    legend = page.page.locator(".bk-Div").filter(has_text="Rows in view by category")
    legend.wait_for(state="visible")
    labels = legend.locator(".label").all_inner_texts()
    assert labels == ["east", "north", "west", "south", "centre"]
    rows = [int(text.replace(",", "")) for text in legend.locator(".rows").all_inner_texts()]
    box = page.frame_box()
    # as painted as at one device pixel a pixel: the same rows over SCREENSHOT_SCALE**2 times the pixels
    assert painted_fraction(page.page.screenshot(clip=box)) > 0.2 / SCREENSHOT_SCALE**2, (
        "the plot area is blank"
    )
    # the hover reads the rows per pixel over all categories, which sum to the legend's rows
    grid = page.grid()
    assert int(grid.values.sum()) == sum(rows)
    i, j = grid.distinct_pixel()
    (label, value), _, _ = page.hover(grid, i, j)
    assert (label, value) == ("rows, all categories:", str(int(grid.values[j, i])))
    time.sleep(0.3)
    page.page.mouse.move(0, 0)
    time.sleep(0.3)
    target = CATEGORIES_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "categories.png"
    page.page.screenshot(path=str(target))
    assert page.query()["agg"] == "count_by"

    page.page.get_by_label("Each pixel shows").select_option("count")
    page.page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('rgba_source').data.image.length == 0", timeout=30_000
    )
    legend.wait_for(state="hidden")
    assert page.errors == []


SPREAD_OF = """async ([values, shape, dtype, kind, spread]) => {
    const {ndarray} = Bokeh.require("core/util/ndarray");
    const doc = Bokeh.documents[0];
    const [name, shown] = kind == "rgba"
        ? ["rgba_source", "rgba_display"] : ["image_source", "display_source"];
    const display = doc.get_model_by_name(shown);
    display.data = {image: [], x: [], y: [], dw: [], dh: []};
    doc.get_model_by_name("spread").value = spread;
    const grid = ndarray(values.map((v) => v == null ? NaN : v), {dtype, shape});
    doc.get_model_by_name(name).data = {image: [grid], x: [0], y: [0], dw: [shape[1]], dh: [shape[0]]};
    // CustomJS callbacks run asynchronously
    for (let waited = 0; display.data.dw[0] != shape[1] || display.data.dh[0] != shape[0]; waited += 10) {
        if (waited > 5000) throw new Error("the display was not redrawn");
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const drawn = display.data.image[0];
    const exact = doc.get_model_by_name(name).data.image[0];
    return {values: Array.from(drawn, (v) => Number.isNaN(v) ? null : v), same: drawn === exact};
}"""


def test_a_dense_view_spread_automatically_draws_the_exact_grid_itself(home_page: Page) -> None:
    page = home_page
    assert page.model("spread", "value") == "auto"
    assert page.page.evaluate(
        "() => { const doc = Bokeh.documents[0];"
        " return doc.get_model_by_name('display_source').data.image[0]"
        " === doc.get_model_by_name('image_source').data.image[0] }"
    )
    assert page.errors == []


def test_spreading_fills_empty_pixels_near_points_and_keeps_every_value(home_page: Page) -> None:
    # grids made up in the page, drawn as the page draws the server's
    page = home_page
    page.wait_until_no_new_image()

    def spread(values: list[Any], shape: list[int], dtype: str, kind: str, choice: str) -> dict[str, Any]:
        return dict(page.page.evaluate(SPREAD_OF, [values, shape, dtype, kind, choice]))

    counts = [
        [5, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 3, 0, 7, 0],
        [0, 0, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0],
    ]
    # each empty pixel takes the largest count within one pixel; points keep their counts
    one_pixel = [
        [5, 5, 0, 0, 0, 0, 0],
        [5, 5, 3, 3, 7, 7, 7],
        [0, 0, 3, 3, 7, 7, 7],
        [0, 0, 3, 3, 7, 7, 7],
        [0, 0, 0, 0, 0, 0, 0],
    ]
    flat = [value for row in counts for value in row]
    assert spread(flat, [5, 7], "uint8", "values", "1")["values"] == [v for row in one_pixel for v in row]
    # auto: at a radius of 1 no point has a neighbour, at 2 two of the three have: radius 1
    assert spread(flat, [5, 7], "uint8", "values", "auto")["values"] == [v for row in one_pixel for v in row]
    assert spread(flat, [5, 7], "uint8", "values", "0") == {"values": flat, "same": True}
    # another reduction's grid: NaN is empty, zero is a value
    assert spread([None, 0.0, None, None, 2.5], [1, 5], "float64", "values", "1")["values"] == [
        0.0,
        0.0,
        0.0,
        2.5,
        2.5,
    ]
    # RGBA: an empty (transparent) pixel takes its most opaque neighbour
    opaque, faint = 0xFF0000FF, 0x400000FF
    assert spread([opaque, 0, faint, 0], [1, 4], "uint32", "rgba", "1")["values"] == [
        opaque,
        opaque,
        faint,
        faint,
    ]
    assert page.errors == []


IMAGE_COLOURS = """() => {
    const doc = Bokeh.documents[0];
    const plot = doc.get_model_by_name('main_plot');
    const mapper = plot.renderers[0].glyph.color_mapper;
    const image = doc.get_model_by_name('image_source').data.image[0];
    return {
        type: mapper.type,
        bar_has_it: plot.right[0].color_mapper === mapper,
        palette: mapper.palette,
        same_image: image === window.first_image,
        rgba: Array.from(mapper.rgba_mapper.v_compute(image)),
    };
}"""
MAPPER_IS_LOG = (
    "() => Bokeh.documents[0].get_model_by_name('main_plot').renderers[0].glyph"
    ".color_mapper.type == 'LogColorMapper'"
)


def test_colour_choices_recolour_in_the_browser_without_a_new_image(home_page: Page) -> None:
    import colorcet
    import numpy as np

    page = home_page
    page.wait_until_no_new_image()  # what follows must not bring another
    page.page.evaluate(
        "() => { window.first_image = Bokeh.documents[0].get_model_by_name('image_source').data.image[0] }"
    )
    box = page.frame_box()
    time.sleep(0.3)
    before = page.page.screenshot(clip=box)
    counts = page.grid().values.ravel()

    page.page.get_by_label("Colour map").select_option("kbc")
    page.page.wait_for_function(
        "(first) => Bokeh.documents[0].get_model_by_name('main_plot').renderers[0].glyph"
        ".color_mapper.palette[0] == first",
        arg=colorcet.kbc[0],
        timeout=10_000,
    )
    page.page.get_by_label("Colour scale").select_option("log")
    page.page.wait_for_function(MAPPER_IS_LOG, timeout=10_000)
    colours = page.page.evaluate(IMAGE_COLOURS)
    assert colours["type"] == "LogColorMapper" and colours["bar_has_it"] and colours["same_image"]
    assert colours["palette"] == list(colorcet.kbc)
    rgba = np.asarray(colours["rgba"], dtype=np.uint8).reshape(-1, 4)
    palette = [tuple(int(c[k : k + 2], 16) for k in (1, 3, 5)) for c in colorcet.kbc]
    assert (rgba[counts == 0, 3] == 0).all()  # no rows: transparent
    assert {tuple(colour) for colour in rgba[counts == 1, :3]} == {palette[0]}  # the scale starts at 1
    assert {tuple(colour) for colour in rgba[counts == counts.max(), :3]} == {palette[-1]}
    time.sleep(0.7)
    assert page.images() == []  # the page recoloured the grid it had
    assert page.page.screenshot(clip=box) != before
    query = page.query()
    assert (query["cmap"], query["norm"], query["agg"]) == ("kbc", "log", "count")
    assert page.errors == [] and page.warnings == []


def test_a_linear_scale_again_recolours_in_the_browser_without_a_new_image(home_page: Page) -> None:
    page = home_page
    page.wait_until_no_new_image()  # what follows must not bring another
    page.page.get_by_label("Colour scale").select_option("log")
    page.page.wait_for_function(MAPPER_IS_LOG, timeout=10_000)

    page.page.get_by_label("Colour scale").select_option("linear")
    page.page.wait_for_function(
        "() => Bokeh.documents[0].get_model_by_name('main_plot').right[0].color_mapper.type"
        " == 'LinearColorMapper'",
        timeout=10_000,
    )
    assert page.page.evaluate(IMAGE_COLOURS)["type"] == "LinearColorMapper"
    assert page.images() == []
    assert page.errors == [] and page.warnings == []


LOG_COLOURS = """(values) => {
    const mapper = Bokeh.documents[0].get_model_by_name('main_plot').renderers[0].glyph.color_mapper;
    return {low: mapper.low, high: mapper.high, palette: mapper.palette,
            rgba: Array.from(mapper.rgba_mapper.v_compute(values))};
}"""


def test_log_scale_of_a_column_starts_at_its_smallest_positive_value(
    server: ServerProcess, open_page: OpenPage
) -> None:
    import numpy as np

    page = open_page(server.url + "?agg=min&column=value&norm=log")
    page.wait_for_image()
    assert page.page.evaluate(IMAGE_DTYPE) == "float64"  # the minimum of a column, not counts
    grid = page.grid().values
    positive = grid[grid > 0]
    found = page.page.evaluate(LOG_COLOURS, [-1.0, 0.0, float(positive.min()), float(positive.max())])
    assert (found["low"], found["high"]) == (float(positive.min()), float(positive.max()))
    rgba = np.asarray(found["rgba"], dtype=np.uint8).reshape(-1, 4)
    first, last = (
        tuple(int(c[k : k + 2], 16) for k in (1, 3, 5))
        for c in found["palette"][:: len(found["palette"]) - 1]
    )
    assert [tuple(colour[:3]) for colour in rgba] == [first, first, first, last]
    assert (rgba[:, 3] == 255).all()  # values at or below zero stay visible, at the bottom of the scale
    nan = page.page.evaluate(
        "() => Array.from(Bokeh.documents[0].get_model_by_name('main_plot').renderers[0].glyph"
        ".color_mapper.rgba_mapper.v_compute([NaN]))"
    )
    assert nan[3] == 0  # no rows: transparent
    assert page.errors == [] and page.warnings == []  # no logarithm of a value <= 0


def test_the_address_carries_the_choices(server: ServerProcess, open_page: OpenPage) -> None:
    import colorcet

    address = "?x0=-1&x1=1.5&y0=-0.5&y1=2&agg=mean&column=value&cmap=bmy&norm=log"
    page = open_page(server.url + address)
    page.wait_for_image()
    assert page.ranges() == [-1.0, 1.5, -0.5, 2.0]
    assert [page.model(name, "value") for name in ("reduction", "column", "colormap", "normalization")] == [
        "mean",
        "value",
        "bmy",
        "log",
    ]
    colours = page.page.evaluate(IMAGE_COLOURS)
    assert colours["type"] == "LogColorMapper" and colours["palette"] == list(colorcet.bmy)
    assert page.page.evaluate(IMAGE_DTYPE) == "float64" and page.model("message", "text") == ""

    page.page.get_by_label("Colour map").select_option("kbc")
    page.page.wait_for_function("() => window.location.search.includes('cmap=kbc')", timeout=10_000)
    page.drag(*page.frame_centre(), 80, 0, steps=5)
    page.settle_one_image(0)
    query = page.query()
    assert [float(query.pop(key)) for key in ("x0", "x1", "y0", "y1")] == page.ranges()
    assert query == {"agg": "mean", "column": "value", "cmap": "kbc", "norm": "log", "spread": "auto"}
    assert page.errors == [] and page.warnings == []


def test_choices_in_the_address_not_on_offer_are_reported_and_replaced(
    server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(server.url + "?agg=median&cmap=nope")
    page.wait_for_image()
    message = page.model("message", "text")
    assert "agg=&#x27;median&#x27; in the address is not one of" in message
    assert "cmap=&#x27;nope&#x27; in the address is not one of [&#x27;fire&#x27;, &#x27;bmy&#x27;" in message
    assert page.model("reduction", "value") == "count" and page.model("colormap", "value") == "fire"
    assert page.grid().values.sum() == 300_000  # the whole data, counted
    assert page.errors == []


HISTOGRAMS = """() => {
    const doc = Bokeh.documents[0];
    const plot = (name) => {
        const view = Bokeh.index.find_one(doc.get_model_by_name(name));
        const page = view.el.getBoundingClientRect();
        const frame = view.frame.bbox;
        return {view, frame: [page.left + frame.left, page.top + frame.top, frame.width, frame.height]};
    };
    const main = plot('main_plot'), above = plot('x_histogram'), right = plot('y_histogram');
    const bars = (histogram) => Bokeh.index.find_one(histogram.view.model.renderers[0]).glyph;
    const columns = bars(above), rows = bars(right);
    return {
        frames: {main: main.frame, above: above.frame, right: right.frame},
        // the rows per pixel, and the zero after them where each step area closes
        per_column: Array.from(doc.get_model_by_name('x_histogram_source').data.rows).slice(0, -1),
        per_row: Array.from(doc.get_model_by_name('y_histogram_source').data.rows).slice(0, -1),
        closing: ['x_histogram_source', 'y_histogram_source'].map(
            (name) => Array.from(doc.get_model_by_name(name).data.rows).at(-1)),
        peaks: [above.view.model.y_range.end, right.view.model.x_range.end],
        column_edges: Array.from(columns.x),
        row_edges: Array.from(rows.y),
    };
}"""


def assert_histograms_match(page: Page) -> None:
    """The histograms hold the sums of the page's count grid (summed in the page), with bars on
    its pixel columns and rows."""
    grid = page.grid()
    found = page.page.evaluate(HISTOGRAMS)
    assert found["per_column"] == grid.values.sum(axis=0).tolist()
    assert found["per_row"] == grid.values.sum(axis=1).tolist()
    assert_bars_on_the_pixels(page)


def assert_bars_on_the_pixels(page: Page) -> None:
    """The histograms' bars stand on the image's pixel columns and rows, up to the highest bar."""
    import numpy as np

    grid = page.grid()
    found = page.page.evaluate(HISTOGRAMS)
    # the rows axes run from 0 to the highest bar
    assert found["peaks"] == [max(found["per_column"]), max(found["per_row"])]
    assert found["closing"] == [0, 0]
    rows, columns = grid.values.shape
    for found_edges, origin, size, pixels in (
        (found["column_edges"], grid.x, grid.dw, columns),
        (found["row_edges"], grid.y, grid.dh, rows),
    ):
        edges = origin + np.arange(pixels + 1) * (size / pixels)
        np.testing.assert_allclose(found_edges, edges, rtol=0, atol=1e-9 * size)


def test_histograms_are_drawn_beside_the_image_and_follow_a_zoom(home_page: Page) -> None:
    page = home_page
    page.wait_for(lambda: sum(page.page.evaluate(HISTOGRAMS)["per_column"]) == 300_000, "no histograms drawn")
    assert_histograms_match(page)
    frames = page.page.evaluate(HISTOGRAMS)["frames"]
    main, above, right = frames["main"], frames["above"], frames["right"]
    assert (above[0], above[2]) == (main[0], main[2])  # the same pixel columns
    assert (right[1], right[3]) == (main[1], main[3])  # the same pixel rows
    assert above[1] + above[3] <= main[1] and right[0] >= main[0] + main[2]
    time.sleep(0.3)
    for name, (x, y, width, height) in (("above", above), ("right", right)):
        clip = {"x": x, "y": y, "width": width, "height": height}
        assert painted_fraction(page.page.screenshot(clip=clip)) > 0.1, f"no bars {name}"

    box = page.frame_box()
    page.page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
    page.page.mouse.wheel(0, -100)
    zoomed = page.settle_one_image(0)
    assert_image_matches_ranges(zoomed, page.ranges())
    page.wait_for(
        lambda: sum(page.page.evaluate(HISTOGRAMS)["per_column"]) == page.grid().values.sum(),
        "the histograms did not follow the zoom",
    )
    assert page.grid().values.sum() < 300_000
    assert_histograms_match(page)
    assert page.errors == [] and page.warnings == []


BOX_SELECT_OVERLAY = """() => {
    const plot = Bokeh.documents[0].get_model_by_name('main_plot');
    const overlay = plot.toolbar.tools.find((tool) => tool.type == 'BoxSelectTool').overlay;
    return [overlay.left, overlay.right, overlay.bottom, overlay.top];
}"""


def test_box_select_counts_the_rows_in_a_dragged_box(readme_page: Page, tmp_path: Path) -> None:
    import re

    from pipeline import SyntheticSource

    page = readme_page
    assert page.text("selection") == ""
    page.page.locator(".bk-tool-icon-box-select").click()
    box = page.frame_box()
    x, y = box["x"] + 0.35 * box["width"], box["y"] + 0.3 * box["height"]
    page.drag(x, y, 0.25 * box["width"], 0.35 * box["height"], steps=10)
    page.wait_for(lambda: " rows in x " in (page.text("selection") or ""), "no count of the box")
    x0, x1, y0, y1 = page.page.evaluate(BOX_SELECT_OVERLAY)  # the box, in data space
    frame = SyntheticSource(rows=300_000).load()
    inside = int((frame["a"].between(x0, x1) & frame["b"].between(y0, y1)).sum())
    shown = re.fullmatch(r"([\d,]+) rows in x (\S+) to (\S+), y (\S+) to (\S+)", page.text("selection") or "")
    assert shown is not None, page.text("selection")
    assert int(shown[1].replace(",", "")) == inside > 10_000
    assert [float(end) for end in shown.groups()[1:]] == pytest.approx([x0, x1, y0, y1], abs=0.01)
    assert page.images() == []  # counting renders no image
    page.page.mouse.move(0, 0)  # off the plot, and no focus ring, for the picture
    page.wait_for(lambda: page.readout() == [], "the read-out did not hide")
    page.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    time.sleep(0.3)
    target = HISTOGRAMS_SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") else tmp_path / "histograms.png"
    page.page.screenshot(path=str(target))
    assert page.errors == [] and page.warnings == []


DOWNLOAD_SOURCE_EMPTY = "() => Bokeh.documents[0].get_model_by_name('download').data.filename.length == 0"


def test_downloads_save_the_grid_and_the_image(server: ServerProcess, open_page: OpenPage) -> None:
    import numpy as np
    from PIL import Image

    page = open_page(server.url + "?x0=-1&x1=1.5&y0=-0.5&y1=2")
    page.wait_for_image()
    grid = page.grid()
    with page.page.expect_download(timeout=30_000) as download:
        page.page.get_by_role("button", name="Download grid (.npy)").click()
    assert download.value.suggested_filename == "count.npy"
    saved = np.load(download.value.path(), allow_pickle=False)
    assert saved.dtype.kind == "u" and saved.shape == grid.values.shape  # the plot's device pixels
    np.testing.assert_array_equal(saved, grid.values)
    page.page.wait_for_function(DOWNLOAD_SOURCE_EMPTY, timeout=10_000)  # the page keeps no copy

    with page.page.expect_download(timeout=30_000) as download:
        page.page.get_by_role("button", name="Download PNG").click()
    assert download.value.suggested_filename == "count.png"
    with Image.open(download.value.path()) as image:
        assert (image.format, image.mode, image.size) == ("PNG", "RGBA", grid.values.shape[::-1])
        alpha = np.asarray(image)[::-1, :, 3]  # bottom row first, as the grid
    assert ((alpha == 0) == (grid.values == 0)).all()  # empty pixels are transparent
    assert page.images() == [] and page.errors == []


# zoomed far out, the whole data falls in a few pixels, with more than 255 rows each: a uint16
# grid, sent as zigzag differences in byte planes; then a float64 grid of means
@pytest.mark.parametrize(
    ("query", "dtype"),
    [("?x0=-400&x1=400&y0=-300&y1=300", "uint16"), ("?agg=mean&column=value", "float64")],
    ids=["uint16-counts", "float64-means"],
)
def test_packed_grids_are_unpacked_exactly_in_the_page(
    server: ServerProcess, open_page: OpenPage, query: str, dtype: str
) -> None:
    import numpy as np

    page = open_page(server.url + query)
    page.wait_for_image()
    assert page.page.evaluate(IMAGE_DTYPE) == dtype
    grid = page.grid()
    with page.page.expect_download(timeout=30_000) as download:
        page.page.get_by_role("button", name="Download grid (.npy)").click()
    saved = np.load(download.value.path(), allow_pickle=False)
    assert saved.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(grid.values, saved)  # NaNs where the server has them
    if dtype == "uint16":
        assert saved.max() > 255 and saved.sum() == 300_000
    assert page.errors == []


FITTED = """() => {
    const doc = Bokeh.documents[0];
    const view = Bokeh.index.find_one(doc.get_model_by_name('main_plot'));
    const grid = doc.get_model_by_name('image_source').data.image[0];
    return {frame: [view.frame.bbox.width, view.frame.bbox.height], grid: grid.shape,
            window: [window.innerWidth, window.innerHeight], ratio: window.devicePixelRatio};
}"""


def assert_grid_fills_the_frame_in_device_pixels(page: Page) -> None:
    fitted = page.page.evaluate(FITTED)
    (width, height), (rows, columns) = fitted["frame"], fitted["grid"]
    assert width > 0.7 * fitted["window"][0]  # most of the window's width
    assert columns == pytest.approx(width * fitted["ratio"], rel=0.02)
    assert rows == pytest.approx(height * fitted["ratio"], rel=0.02)


def test_the_plot_fills_the_window_at_the_screens_resolution(
    server: ServerProcess, open_page: OpenPage
) -> None:
    page = open_page(server.url, {"width": 1600, "height": 1000}, 2)
    page.wait_for_image()
    assert_grid_fills_the_frame_in_device_pixels(page)
    assert page.grid().values.sum() == 300_000  # the whole data, at the new size
    before = page.page.evaluate(FITTED)
    page.page.set_viewport_size({"width": 1100, "height": 800})
    page.wait_for(
        lambda: page.page.evaluate(FITTED)["grid"] != before["grid"], "no image at the new size", timeout=20
    )
    page.wait_until_no_new_image()
    assert_grid_fills_the_frame_in_device_pixels(page)
    assert len(page.images()) == 1  # one image for the resize, once it settled
    assert page.errors == []
