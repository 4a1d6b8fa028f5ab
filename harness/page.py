"""Drive a page of the app in headless Chromium (Playwright's synchronous API).

:class:`Page` opens the app at an address and collects what the page reports (JavaScript errors
and warnings, the text frames it sends to the server, the images it receives); its helpers read
the Bokeh models of the page and move the mouse over the plot. :class:`Grid` is the image's grid
as the page holds it, placed in data space. :func:`painted_fraction` measures how much of a
screenshot is drawn. Nothing here asserts what the app should do: the tests do.

Playwright's objects are typed ``Any``: the helpers take a browser from
:func:`harness.browser.launch_chromium`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "FRAME_BOX",
    "IMAGE_GRID",
    "IMAGE_READY",
    "PAGE_POINT",
    "RANGES",
    "READOUT",
    "RECORD_IMAGES",
    "SCREENSHOT_SCALE",
    "SCREENSHOT_VIEWPORT",
    "VIEWPORT",
    "Grid",
    "Page",
    "painted_fraction",
]

VIEWPORT = {"width": 1100, "height": 960}
SCREENSHOT_VIEWPORT = {"width": 1440, "height": 900}  # the README's screenshots, at 2 device pixels a pixel
SCREENSHOT_SCALE = 2

# true once the page's document holds an image of the size the plot was fitted to: the page
# fits the plot to the window, and the server then sends the image at its size in device pixels
IMAGE_READY = """() => {
    const doc = window.Bokeh && Bokeh.documents[0];
    const source = doc && doc.get_model_by_name('image_source');
    const plot = doc && doc.get_model_by_name('main_plot');
    const grid = source && source.data.image[0];
    const fitted = plot && plot._fitted;
    return Boolean(grid && fitted && grid.shape[0] == fitted[0] && grid.shape[1] == fitted[1]);
}"""
# from now on, the place of each image that arrives is pushed onto window.images
RECORD_IMAGES = """() => {
    const source = Bokeh.documents[0].get_model_by_name('image_source');
    window.images = [];
    source.connect(source.change, () => window.images.push(
        {x: source.data.x[0], y: source.data.y[0], dw: source.data.dw[0], dh: source.data.dh[0]}));
}"""
# x start, x end, y start, y end of the main plot's view
RANGES = """() => {
    const plot = Bokeh.documents[0].get_model_by_name('main_plot');
    return [plot.x_range.start, plot.x_range.end, plot.y_range.start, plot.y_range.end];
}"""
# the image's values (null for NaN), shape and place in data space
IMAGE_GRID = """() => {
    const data = Bokeh.documents[0].get_model_by_name('image_source').data;
    const grid = data.image[0];
    return {values: Array.from(grid, (v) => Number.isNaN(v) ? null : v), shape: grid.shape,
            x: data.x[0], y: data.y[0], dw: data.dw[0], dh: data.dh[0]};
}"""
# the page coordinates of the data point [x, y] on the main plot
PAGE_POINT = """([x, y]) => {
    const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('main_plot'));
    const page = view.el.getBoundingClientRect();
    return [page.left + view.frame.x_scale.compute(x), page.top + view.frame.y_scale.compute(y)];
}"""
# the text of the read-out beside the cursor, null while it is hidden
READOUT = """() => {
    const label = Bokeh.documents[0].get_model_by_name('pixel_readout');
    return label.visible ? label.text : null;
}"""
# the main plot's frame (the area inside its axes) in page coordinates, as a screenshot clip
FRAME_BOX = """() => {
    const view = Bokeh.index.find_one(Bokeh.documents[0].get_model_by_name('main_plot'));
    const page = view.el.getBoundingClientRect();
    const frame = view.frame.bbox;
    return {x: page.left + frame.left, y: page.top + frame.top, width: frame.width, height: frame.height};
}"""


class Page:
    """A page of the app, with its JavaScript errors and warnings collected.

    ``page`` is the Playwright page itself, for what the helpers do not cover.
    """

    def __init__(self, browser: Any, url: str, viewport: dict[str, int] = VIEWPORT, scale: float = 1) -> None:
        self.page: Any = browser.new_page(viewport=viewport, device_scale_factor=scale)
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.sent: list[str] = []  # the text frames the page sent to the server
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._record_message)
        self.page.on("websocket", self._record_frames)
        try:
            self.page.goto(url)
        except BaseException:
            self.page.close()
            raise

    def _record_message(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(message.text)
        elif message.type == "warning":
            self.warnings.append(message.text)

    def _record_frames(self, websocket: Any) -> None:
        websocket.on("framesent", self._record_frame)

    def _record_frame(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            self.sent.append(payload)

    def wait_for_model(self, name: str, timeout: float = 60.0) -> None:
        """Wait until the page's document holds a model called ``name``."""
        self.page.wait_for_function(
            "(name) => window.Bokeh && Bokeh.documents[0] && Bokeh.documents[0].get_model_by_name(name)",
            arg=name,
            timeout=timeout * 1000,
        )

    def wait_for_image(self) -> None:
        """Wait for the first image at the plot's size, then record each image that follows
        (see :meth:`images`)."""
        self.page.wait_for_function(IMAGE_READY, timeout=120_000)
        self.page.evaluate(RECORD_IMAGES)

    def images(self) -> list[dict[str, float]]:
        """The place (x, y, dw, dh) of each image that arrived since :meth:`wait_for_image`."""
        return list(self.page.evaluate("() => window.images"))

    def ranges(self) -> list[float]:
        """x start, x end, y start, y end of the main plot's view."""
        return list(self.page.evaluate(RANGES))

    def text(self, name: str) -> str | None:
        """The text of the model called ``name``; None where there is no such model."""
        found = self.page.evaluate(
            "(name) => { const m = Bokeh.documents[0].get_model_by_name(name); return m ? m.text : null }",
            name,
        )
        return None if found is None else str(found)

    def wait_until_no_new_image(self, quiet: float = 0.7, timeout: float = 10.0) -> None:
        """Wait until no image has arrived for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        seen = len(self.images())
        while True:
            time.sleep(quiet)
            now = len(self.images())
            if now == seen:
                return
            assert time.monotonic() < deadline, f"images kept arriving: {now}"
            seen = now

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

    def grid(self) -> Grid:
        """The image's grid as the page holds it now."""
        return Grid(self.page.evaluate(IMAGE_GRID))

    def model(self, name: str, attribute: str) -> Any:
        """``attribute`` of the model called ``name``."""
        return self.page.evaluate(
            "([name, attribute]) => Bokeh.documents[0].get_model_by_name(name)[attribute]", [name, attribute]
        )

    def query(self) -> dict[str, str]:
        """The parameters of the page's address."""
        return dict(
            self.page.evaluate("() => Object.fromEntries(new URLSearchParams(window.location.search))")
        )

    def frame_box(self) -> dict[str, float]:
        """The main plot's frame in page coordinates: x, y, width, height (a screenshot clip)."""
        return dict(self.page.evaluate(FRAME_BOX))

    def frame_centre(self) -> tuple[float, float]:
        """The page coordinates of the centre of the main plot's frame."""
        box = self.frame_box()
        return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    def drag(self, x: float, y: float, dx: float, dy: float, steps: int) -> None:
        """Press the mouse at page point (x, y), move it by (dx, dy) in ``steps`` steps, release it."""
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx, y + dy, steps=steps)
        self.page.mouse.up()

    def hover(self, grid: Grid, i: int, j: int) -> list[tuple[str, str]]:
        """Move the mouse to the centre of pixel (column i, row j from the bottom); the read-out's lines."""
        self.page.mouse.move(0, 0)  # off the plot: the read-out hides
        self.wait_for(lambda: self.readout() == [], "the read-out did not hide")
        x, y = self.page.evaluate(PAGE_POINT, list(grid.centre(i, j)))
        self.page.mouse.move(x, y)
        self.wait_for(lambda: len(self.readout()) == 3, f"no read-out for pixel {(i, j)}")
        return self.readout()

    def readout(self) -> list[tuple[str, str]]:
        """The (name, value) lines of the read-out beside the cursor; none while it is hidden."""
        text = self.page.evaluate(READOUT)
        if text is None:
            return []
        return [(name + ":", value) for name, _, value in (line.partition(": ") for line in text.split("\n"))]

    @staticmethod
    def wait_for(condition: Callable[[], bool], failure: str, timeout: float = 10.0) -> None:
        """Poll ``condition`` until it holds; fail with ``failure`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, failure
            time.sleep(0.05)

    def close(self) -> None:
        self.page.close()


class Grid:
    """The image's grid as the page holds it, with its place in data space."""

    def __init__(self, found: dict[str, Any]) -> None:
        rows, columns = found["shape"]
        values = [np.nan if value is None else value for value in found["values"]]
        self.values: npt.NDArray[np.float64] = np.asarray(values, dtype=float).reshape(rows, columns)
        self.x: float = found["x"]
        self.y: float = found["y"]
        self.dw: float = found["dw"]
        self.dh: float = found["dh"]

    def pixel_bounds(self, i: int, j: int) -> tuple[float, float, float, float]:
        """x from, x to, y from, y to of pixel (column i, row j)."""
        rows, columns = self.values.shape
        step_x, step_y = self.dw / columns, self.dh / rows
        return self.x + i * step_x, self.x + (i + 1) * step_x, self.y + j * step_y, self.y + (j + 1) * step_y

    def centre(self, i: int, j: int) -> tuple[float, float]:
        """The data-space centre of pixel (column i, row j)."""
        x0, x1, y0, y1 = self.pixel_bounds(i, j)
        return (x0 + x1) / 2, (y0 + y1) / 2

    def distinct_pixel(self) -> tuple[int, int]:
        """The pixel nearest the centre with a positive value unlike all eight neighbours' values."""
        rows, columns = self.values.shape
        padded = np.pad(self.values, 1, constant_values=-1.0)
        distinct = self.values > 0
        for dj in (-1, 0, 1):
            for di in (-1, 0, 1):
                if (di, dj) != (0, 0):
                    distinct &= padded[1 + dj : 1 + dj + rows, 1 + di : 1 + di + columns] != self.values
        return self._nearest_centre(distinct)

    def empty_pixel(self) -> tuple[int, int]:
        """The pixel without rows (NaN) nearest the centre."""
        return self._nearest_centre(np.isnan(self.values))

    def _nearest_centre(self, wanted: npt.NDArray[np.bool_]) -> tuple[int, int]:
        rows, columns = self.values.shape
        js, is_ = np.nonzero(wanted)
        nearest = np.argmin((js - rows / 2) ** 2 + (is_ - columns / 2) ** 2)
        return int(is_[nearest]), int(js[nearest])


def painted_fraction(png: bytes) -> float:
    """Share of pixels that are not the page's white background."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    return float((pixels.sum(axis=2) < 3 * 245).mean())
