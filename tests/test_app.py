"""The app in-process, as Bokeh tests its examples: directory handler, hooks, modify_document."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace

import colorcet
import numpy as np
import pandas as pd
import pytest
from bokeh.application.handlers import DirectoryHandler
from bokeh.document import Document
from bokeh.models import (
    ColumnDataSource,
    EqHistColorMapper,
    HoverTool,
    LinearColorMapper,
    LogColorMapper,
    Range1d,
    WheelZoomTool,
)

from app.debounce import RANGE_SETTLE
from app.mapper import COLORMAPS, ImageColours
from harness.documents import (
    APP_ARGS,
    loaded_document,
    make_handler,
    page_image,
    ready_handler,
    run_pending_callbacks,
    session_document,
    wait_for_image,
    wait_until,
)
from harness.server import APP_DIR
from pipeline import DataStore, LoadState

from .conftest import OpenSession


def test_app_builds_the_plot_from_the_shared_store(fresh_store: DataStore, app_document: Document) -> None:
    doc = app_document

    plot = doc.get_model_by_name("main_plot")
    extent = fresh_store.dataset.extent
    assert isinstance(plot.x_range, Range1d) and isinstance(plot.y_range, Range1d)
    assert (plot.x_range.start, plot.x_range.end) == (extent.x0, extent.x1)
    assert (plot.y_range.start, plot.y_range.end) == (extent.y0, extent.y1)
    assert isinstance(plot.toolbar.active_scroll, WheelZoomTool)
    assert plot.lod_timeout <= 100
    assert isinstance(plot.renderers[0].glyph.color_mapper, EqHistColorMapper)

    data = wait_for_image(doc)
    assert set(data) == {"image", "x", "y", "dw", "dh"}
    assert (data["x"][0], data["y"][0]) == (extent.x0, extent.y0)
    assert (data["dw"][0], data["dh"][0]) == (extent.width, extent.height)
    grid = np.asarray(data["image"][0])
    assert grid.shape == (30, 40) and grid.sum() == 20_000  # every row is inside its own extent
    assert "20,000 rows in view" in doc.get_model_by_name("status").text


def test_two_sessions_share_one_frame(fresh_store: DataStore) -> None:
    handler = make_handler(APP_ARGS)
    handler.on_server_loaded(SimpleNamespace())
    fresh_store.wait_ready(60)
    docs = [Document(), Document()]
    for doc in docs:
        handler.modify_document(doc)
    images = [np.asarray(wait_for_image(doc)["image"][0]) for doc in docs]
    np.testing.assert_array_equal(images[0], images[1])
    # one aggregate, packed once: both documents hold the same bytes, not a copy each
    wires = [doc.get_model_by_name("image_wire").data["packed"][0] for doc in docs]
    assert wires[0] is wires[1]


def test_loading_page_then_plot(fresh_store: DataStore) -> None:
    handler = make_handler(APP_ARGS)
    doc = Document()
    handler.modify_document(doc)  # before on_server_loaded: nothing loaded yet
    assert not handler.failed, handler.error_detail
    assert doc.get_model_by_name("loading") is not None
    assert doc.get_model_by_name("main_plot") is None
    handler.on_server_loaded(SimpleNamespace())
    fresh_store.wait_ready(60)
    run_pending_callbacks(doc)  # the loading page's periodic poll
    assert doc.get_model_by_name("loading") is None
    assert doc.get_model_by_name("main_plot") is not None


def test_failed_load_shows_the_error(fresh_store: DataStore, tmp_path: Path) -> None:
    doc = loaded_document(["--source", str(tmp_path / "missing.csv")], fresh_store, LoadState.FAILED)
    error = doc.get_model_by_name("error")
    assert "missing.csv&#x27; does not exist" in error.text


def test_bad_ranges_are_reported_to_the_session(app_document: Document) -> None:
    doc = app_document
    plot = doc.get_model_by_name("main_plot")
    plot.x_range.start, plot.x_range.end = 5, 1
    run_pending_callbacks(doc)  # opens the settle window, once the change is applied
    assert doc.get_model_by_name("message").text == ""
    time.sleep(RANGE_SETTLE / 1000)
    run_pending_callbacks(doc)  # the window closes: two ends changed, then nothing more
    assert "x range must have end &gt; start, got start=5.0, end=1.0" in doc.get_model_by_name("message").text


@pytest.mark.parametrize("argv", [["--bogus"], ["--rows", "-3"]])
def test_bad_option_stops_the_app_with_the_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        DirectoryHandler(filename=str(APP_DIR), argv=argv)
    assert "usage: bokeh serve app --args" in capsys.readouterr().err


def test_choosing_a_reduction_re_aggregates(fresh_store: DataStore) -> None:
    import datashader as ds

    from pipeline import SyntheticSource

    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    wait_for_image(doc)
    reduction = doc.get_model_by_name("reduction")
    assert reduction.options == [
        "count",
        "max",
        "mean",
        "min",
        "std",
        "sum",
        ("count_by", "count by category"),
    ]
    assert doc.get_model_by_name("column").value == "value"
    reduction.value = "mean"
    for _ in range(500):
        run_pending_callbacks(doc)
        grid = np.asarray(page_image(doc)["image"][0])
        if grid.dtype.kind == "f":
            break
        time.sleep(0.01)
    frame = SyntheticSource(rows=20_000).load()
    extent = fresh_store.dataset.extent
    cvs = ds.Canvas(40, 30, x_range=(extent.x0, extent.x1), y_range=(extent.y0, extent.y1))
    want = cvs.points(frame, "a", "b", agg=ds.mean("value")).values
    np.testing.assert_allclose(grid, want, rtol=1e-12, equal_nan=True)  # rows are summed in another order
    assert plot_mapper_low(doc) is None  # means below 1 are coloured too


def plot_mapper_low(doc: Document) -> object:
    return doc.get_model_by_name("main_plot").renderers[0].glyph.color_mapper.low


def test_a_source_without_extra_columns_offers_count_only(fresh_store: DataStore, tmp_path: Path) -> None:
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n0,0\n1,2\n3,1\n")
    doc = loaded_document(
        ["--source", str(path), "--width", "16", "--height", "16"], fresh_store, LoadState.READY
    )
    assert doc.get_model_by_name("reduction").options == ["count"]
    assert np.asarray(wait_for_image(doc)["image"][0]).sum() == 3


def address_the_page_writes(doc: Document) -> dict[str, str]:
    """The query that the page's address script writes from this document's models."""
    plot = doc.get_model_by_name("main_plot")
    ends = {
        "x0": plot.x_range.start,
        "x1": plot.x_range.end,
        "y0": plot.y_range.start,
        "y1": plot.y_range.end,
    }
    choices = {
        "agg": "reduction",
        "column": "column",
        "cmap": "colormap",
        "norm": "normalization",
        "spread": "spread",
    }
    return {key: repr(value) for key, value in ends.items()} | {
        key: doc.get_model_by_name(name).value for key, name in choices.items()
    }


def image_colours(doc: Document) -> tuple[object, object]:
    """The image's colour mapper and the colour bar's."""
    plot = doc.get_model_by_name("main_plot")
    return plot.renderers[0].glyph.color_mapper, plot.right[0].color_mapper


def test_the_address_chooses_the_reduction_and_colours_and_round_trips(fresh_store: DataStore) -> None:
    handler = ready_handler(fresh_store)
    address = {
        "x0": "-1.0",
        "x1": "1.5",
        "y0": "-0.5",
        "y1": "2.0",
        "agg": "max",
        "column": "value",
        "cmap": "bmy",
        "norm": "log",
        "spread": "2",
    }
    doc, _context = session_document(handler, address)
    data = wait_for_image(doc)
    assert (data["x"][0], data["y"][0], data["dw"][0], data["dh"][0]) == (-1.0, -0.5, 2.5, 2.5)
    grid = np.asarray(data["image"][0])
    assert grid.dtype.kind == "f"  # the maximum of a column, not counts
    assert [
        doc.get_model_by_name(name).value
        for name in ("reduction", "column", "colormap", "normalization", "spread")
    ] == [
        "max",
        "value",
        "bmy",
        "log",
        "2",
    ]
    mapper, bar_mapper = image_colours(doc)
    assert isinstance(mapper, LogColorMapper) and bar_mapper is mapper
    assert mapper.palette == list(colorcet.bmy)
    assert doc.get_model_by_name("message").text == ""
    assert address_the_page_writes(doc) == address

    again, _again_context = session_document(handler, address_the_page_writes(doc))
    np.testing.assert_array_equal(np.asarray(wait_for_image(again)["image"][0]), grid)
    assert address_the_page_writes(again) == address


@pytest.mark.parametrize(
    ("address", "problems", "reduction"),
    [
        (
            {"agg": "median", "cmap": "nope", "norm": "sqrt", "spread": "wide"},
            [
                "agg=&#x27;median&#x27; in the address is not one of "
                "[&#x27;count&#x27;, &#x27;max&#x27;, &#x27;mean&#x27;, &#x27;min&#x27;, &#x27;std&#x27;, "
                "&#x27;sum&#x27;, &#x27;count_by&#x27;]; showing count",
                "cmap=&#x27;nope&#x27; in the address is not one of "
                "[&#x27;fire&#x27;, &#x27;bmy&#x27;, &#x27;bgy&#x27;, &#x27;kbc&#x27;, &#x27;blues&#x27;, "
                "&#x27;dimgray&#x27;, &#x27;rainbow4&#x27;]; showing &#x27;fire&#x27;",
                "norm=&#x27;sqrt&#x27; in the address is not one of "
                "[&#x27;eq_hist&#x27;, &#x27;log&#x27;, &#x27;linear&#x27;]; showing &#x27;eq_hist&#x27;",
                "spread=&#x27;wide&#x27; in the address is not one of "
                "[&#x27;auto&#x27;, &#x27;0&#x27;, &#x27;1&#x27;, &#x27;2&#x27;, &#x27;3&#x27;]; "
                "showing &#x27;auto&#x27;",
            ],
            "count",
        ),
        (
            {"agg": "sum"},
            [
                "agg=&#x27;sum&#x27; in the address needs a column; "
                "expected column= one of [&#x27;value&#x27;]; showing count"
            ],
            "count",
        ),
        (
            {"agg": "sum", "column": "weight"},
            [
                "column=&#x27;weight&#x27; in the address is not a numeric column; "
                "expected one of [&#x27;value&#x27;]; showing count"
            ],
            "count",
        ),
        (
            {"column": "a", "x0": "left", "x1": "1", "y0": "0", "y1": "1"},
            [
                "x0=&#x27;left&#x27; in the address is not a number; showing the whole data instead",
                "column=&#x27;a&#x27; in the address is not a numeric or categorical column; "
                "expected one of [&#x27;value&#x27;, &#x27;category&#x27;]; ignoring it",
            ],
            "count",
        ),
    ],
)
def test_bad_choices_in_the_address_fall_back_with_a_message(
    fresh_store: DataStore,
    caplog: pytest.LogCaptureFixture,
    address: dict[str, str],
    problems: list[str],
    reduction: str,
) -> None:
    handler = ready_handler(fresh_store)
    with caplog.at_level(logging.WARNING):
        doc, _context = session_document(handler, address)
    data = wait_for_image(doc)
    assert np.asarray(data["image"][0]).sum() == 20_000  # the whole data, counted
    assert doc.get_model_by_name("message").text == "<br>".join(problems)
    # the app's modules are named bokeh_app_<hash>.session under Bokeh's DirectoryHandler
    logged = [
        record.getMessage().split(": ", 1)[1] for record in caplog.records if record.name.endswith(".session")
    ]
    assert logged == [problem.replace("&#x27;", "'") for problem in problems]
    assert [
        doc.get_model_by_name(name).value for name in ("reduction", "column", "colormap", "normalization")
    ] == [
        reduction,
        "value",
        "fire",
        "eq_hist",
    ]
    mapper, bar_mapper = image_colours(doc)
    assert isinstance(mapper, EqHistColorMapper) and bar_mapper is mapper


def test_colour_choices_change_the_mappers_without_rendering_again(
    fresh_store: DataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    image = wait_for_image(doc)["image"][0]
    packed = doc.get_model_by_name("image_wire").data["packed"][0]
    submitted: list[object] = []
    submit = fresh_store.submit
    monkeypatch.setattr(fresh_store, "submit", lambda *request: submitted.append(request) or submit(*request))

    doc.get_model_by_name("colormap").value = "kbc"
    mapper, bar_mapper = image_colours(doc)
    assert isinstance(mapper, EqHistColorMapper) and bar_mapper is mapper
    assert mapper.palette == list(colorcet.kbc)
    doc.get_model_by_name("normalization").value = "linear"
    mapper, bar_mapper = image_colours(doc)
    assert isinstance(mapper, LinearColorMapper) and bar_mapper is mapper
    assert mapper.palette == list(colorcet.kbc)
    doc.get_model_by_name("normalization").value = "log"
    mapper, bar_mapper = image_colours(doc)
    assert isinstance(mapper, LogColorMapper) and bar_mapper is mapper
    assert (mapper.low, mapper.high) == (1.0, float(np.asarray(image).max()))

    doc.get_model_by_name("colormap").value = "sepia"  # as a bokeh.client script could
    assert doc.get_model_by_name("message").text == (
        "unknown colour map &#x27;sepia&#x27;; expected one of "
        "[&#x27;fire&#x27;, &#x27;bmy&#x27;, &#x27;bgy&#x27;, &#x27;kbc&#x27;, &#x27;blues&#x27;, "
        "&#x27;dimgray&#x27;, &#x27;rainbow4&#x27;]"
    )
    assert image_colours(doc)[0].palette == list(colorcet.kbc)

    time.sleep(0.1)
    run_pending_callbacks(doc)
    assert submitted == []
    assert doc.get_model_by_name("image_wire").data["packed"][0] is packed  # the same image, not sent again


def test_the_hover_read_out_names_the_reduction_of_the_image(app_document: Document) -> None:
    doc = app_document
    wait_for_image(doc)
    plot = doc.get_model_by_name("main_plot")
    hover = plot.select_one({"type": HoverTool})
    # no tooltips, which the page would place and style again at every frame: a label on the
    # plot's overlay, which the page moves and fills in, without telling the server
    assert hover.tooltips is None
    readout = doc.get_model_by_name("pixel_readout")
    assert readout in plot.center and readout.level == "overlay" and not readout.syncable
    assert hover.callback.args["label"] is readout
    assert hover.callback.args["names"] == ["count", "a", "b"]
    assert hover.renderers == [plot.renderers[0]]
    doc.get_model_by_name("reduction").value = "mean"
    for _ in range(500):
        run_pending_callbacks(doc)
        if hover.callback.args["names"][0] != "count":
            break
        time.sleep(0.01)
    assert hover.callback.args["names"] == ["mean(value)", "a", "b"]
    assert np.asarray(page_image(doc)["image"][0]).dtype.kind == "f"


TRANSPARENT = "rgba(0, 0, 0, 0)"  # app.mapper.TRANSPARENT, as Bokeh stores a colour


def mapper_ranges(colours: ImageColours) -> dict[str, tuple[object, ...]]:
    return {
        "eq_hist": (colours.mappers["eq_hist"].low, colours.mappers["eq_hist"].low_color),
        "linear": (colours.mappers["linear"].low, colours.mappers["linear"].high),
        "log": (colours.mappers["log"].low, colours.mappers["log"].high, colours.mappers["log"].low_color),
    }


@pytest.mark.parametrize(
    ("grid", "counts", "ranges"),
    [
        (
            np.array([[0, 1], [7, 3]], dtype=np.uint8),
            True,
            {"eq_hist": (1.0, TRANSPARENT), "linear": (1.0, None), "log": (1.0, 7.0, TRANSPARENT)},
        ),
        (  # no rows in view: nothing is on the scales that start at 1
            np.zeros((2, 2), dtype=np.uint16),
            True,
            {"eq_hist": (1.0, TRANSPARENT), "linear": (1.0, 1.0), "log": (1.0, 1.0, TRANSPARENT)},
        ),
        (  # log runs from the smallest positive value; -2 and 0 take its lowest colour
            np.array([[np.nan, -2.0, 0.0], [0.25, 4.0, np.inf]]),
            False,
            {"eq_hist": (None, TRANSPARENT), "linear": (None, None), "log": (0.25, 4.0, None)},
        ),
        (
            np.array([[np.nan, -2.0], [0.0, np.nan]]),
            False,
            {"eq_hist": (None, TRANSPARENT), "linear": (None, None), "log": (1.0, 1.0, None)},
        ),
    ],
)
def test_colour_ranges_follow_each_grid(
    grid: np.ndarray, counts: bool, ranges: dict[str, tuple[object, ...]]
) -> None:
    colours = ImageColours(Document(), ColumnDataSource(), "fire", "log")
    colours.fit(grid, counts)
    assert mapper_ranges(colours) == ranges
    assert colours.mapper is colours.mappers["log"]
    assert all(mapper.palette == COLORMAPS["fire"] for mapper in colours.mappers.values())


# -- histograms, box count, downloads -----------------------------------------------------------
def histogram_rows(doc: Document) -> tuple[np.ndarray, np.ndarray]:
    """Rows per pixel column (the plot above) and per pixel row (the plot to the right), without
    the zero after them where each histogram's step area closes."""
    heights = [
        np.asarray(doc.get_model_by_name(name).data["rows"])
        for name in ("x_histogram_source", "y_histogram_source")
    ]
    assert [each[-1] for each in heights] == [0, 0]
    return heights[0][:-1], heights[1][:-1]


def raw_counts(width: int, height: int, view: tuple[float, float, float, float]) -> np.ndarray:
    """Datashader's count grid of the synthetic rows of ``APP_ARGS`` over ``view``."""
    import datashader as ds

    from pipeline import SyntheticSource

    x0, x1, y0, y1 = view
    frame = SyntheticSource(rows=20_000).load()
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=(x0, x1), y_range=(y0, y1))
    return canvas.points(frame, "a", "b", agg=ds.count()).values


VIEW = {"x0": "-1.0", "x1": "1.5", "y0": "-0.5", "y1": "2.0"}


def test_count_images_leave_the_histograms_to_the_page(open_session: OpenSession) -> None:
    # the page sums the count grid it unpacks (checked in Chromium by test_browser.py): the
    # server marks the grid as counts and sends no sums of its own
    doc = open_session(VIEW)
    wait_for_image(doc)
    wire = doc.get_model_by_name("image_wire").data
    assert wire["counts"] == [True] and wire["dtype"] == ["uint8"]
    run_pending_callbacks(doc)
    time.sleep(0.2)
    run_pending_callbacks(doc)
    per_column, per_row = histogram_rows(doc)
    assert not per_column.any() and not per_row.any()


MEAN = {"agg": "mean", "column": "value"}


def test_histograms_of_another_reduction_are_the_rows_in_view_per_pixel_column_and_row(
    open_session: OpenSession,
) -> None:
    doc = open_session(VIEW | MEAN)
    grid = np.asarray(wait_for_image(doc)["image"][0])
    assert grid.dtype.kind == "f" and doc.get_model_by_name("image_wire").data["counts"] == [False]
    wait_until(doc, lambda: histogram_rows(doc)[0].any(), "no histograms arrived")
    per_column, per_row = histogram_rows(doc)

    view = tuple(float(VIEW[key]) for key in ("x0", "x1", "y0", "y1"))
    counts = raw_counts(40, 30, view)
    np.testing.assert_array_equal(per_column, counts.sum(axis=0))
    np.testing.assert_array_equal(per_row, counts.sum(axis=1))
    # Datashader's 1-D binning of the same rows: one pixel tall, and one pixel wide
    np.testing.assert_array_equal(per_column, raw_counts(40, 1, view)[0])
    np.testing.assert_array_equal(per_row, raw_counts(1, 30, view)[:, 0])
    assert per_column.dtype == per_row.dtype == np.uint16  # the smallest that holds the sums
    assert per_column.sum() == counts.sum() < 20_000  # some rows are out of view
    # the rows axes run from 0 to the highest bar
    assert doc.get_model_by_name("x_histogram").y_range.end == per_column.max() > 1
    assert doc.get_model_by_name("y_histogram").x_range.end == per_row.max() > 1
    for name, pixels in (("x_histogram_source", 40), ("y_histogram_source", 30)):  # the edges
        np.testing.assert_array_equal(doc.get_model_by_name(name).data["pixel"], np.arange(pixels + 1))


def test_histograms_of_another_reduction_follow_each_new_view(
    fresh_store: DataStore, open_session: OpenSession
) -> None:
    doc = open_session(MEAN)
    wait_for_image(doc)
    extent = fresh_store.dataset.extent
    home = (extent.x0, extent.x1, extent.y0, extent.y1)
    wait_until(doc, lambda: histogram_rows(doc)[0].sum() == 20_000, "no histograms of the whole data")
    np.testing.assert_array_equal(histogram_rows(doc)[0], raw_counts(40, 30, home).sum(axis=0))

    plot = doc.get_model_by_name("main_plot")
    plot.x_range.start, plot.x_range.end = 0.0, 2.0
    plot.y_range.start, plot.y_range.end = -2.0, 0.0
    counts = raw_counts(40, 30, (0.0, 2.0, -2.0, 0.0))
    wait_until(doc, lambda: histogram_rows(doc)[0].sum() == counts.sum(), "the histograms did not follow")
    np.testing.assert_array_equal(histogram_rows(doc)[0], counts.sum(axis=0))
    np.testing.assert_array_equal(histogram_rows(doc)[1], counts.sum(axis=1))


def select_box(doc: Document, geometry: dict[str, object], final: bool = True) -> None:
    """What the browser sends when the box-select tool's drag ends (or moves, not ``final``)."""
    from bokeh.events import SelectionGeometry

    plot = doc.get_model_by_name("main_plot")
    doc.callbacks.trigger_event(SelectionGeometry(plot, geometry={"type": "rect", **geometry}, final=final))


def selection_text(doc: Document) -> str:
    return str(doc.get_model_by_name("selection").text)


def test_box_select_counts_the_rows_in_the_box(fresh_store: DataStore) -> None:
    from pipeline import SyntheticSource

    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    wait_for_image(doc)
    select_box(doc, {"x0": -0.5, "x1": 1.25, "y0": -2.0, "y1": 0.75}, final=False)
    assert selection_text(doc) == ""  # only the end of the drag is counted
    select_box(doc, {"x0": -0.5, "x1": 1.25, "y0": -2.0, "y1": 0.75})
    frame = SyntheticSource(rows=20_000).load()
    inside = frame["a"].between(-0.5, 1.25) & frame["b"].between(-2.0, 0.75)
    wait_until(doc, lambda: "rows in x" in selection_text(doc), "no count arrived")
    assert selection_text(doc) == f"{inside.sum():,} rows in x -0.50 to 1.25, y -2.00 to 0.75"
    assert 1_000 < inside.sum() < 20_000


@pytest.fixture
def lattice_csv(tmp_path: Path) -> Path:
    """Rows on the points (i/4, j/4), i and j 0 to 16, and the origin twice more."""
    ticks = np.arange(17) / 4
    x, y = (axis.ravel() for axis in np.meshgrid(ticks, ticks))
    path = tmp_path / "lattice.csv"
    pd.DataFrame({"x": np.r_[x, 0.0, 0.0], "y": np.r_[y, 0.0, 0.0]}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("min_count", "box", "rows", "text"),
    [
        # 9 x 7 lattice points, those on the box's four edges included
        (0, (1.0, 3.0, 0.5, 2.0), 63, "63 rows in x 1.00 to 3.00, y 0.50 to 2.00"),
        (0, (0.0, 0.25, 0.0, 0.25), 6, "6 rows in x 0.000 to 0.250, y 0.000 to 0.250"),
        (0, (0.05, 0.2, 0.05, 0.2), 0, "0 rows in x 0.050 to 0.200, y 0.050 to 0.200"),
        (0, (3.9, 4.0, 3.9, 4.0), 1, "1 row in x 3.900 to 4.000, y 3.900 to 4.000"),
        # with --min-count, a box of fewer rows counts as empty, as a pixel does
        (7, (0.0, 0.25, 0.0, 0.25), 6, "fewer than 7 rows in x 0.000 to 0.250, y 0.000 to 0.250"),
        (6, (0.0, 0.25, 0.0, 0.25), 6, "6 rows in x 0.000 to 0.250, y 0.000 to 0.250"),
    ],
)
def test_box_count_includes_rows_on_every_edge(
    fresh_store: DataStore,
    lattice_csv: Path,
    min_count: int,
    box: tuple[float, float, float, float],
    rows: int,
    text: str,
) -> None:
    frame = pd.read_csv(lattice_csv)
    x0, x1, y0, y1 = box
    assert ((frame.x >= x0) & (frame.x <= x1) & (frame.y >= y0) & (frame.y <= y1)).sum() == rows
    argv = ["--source", str(lattice_csv), "--width", "16", "--height", "16", "--min-count", str(min_count)]
    doc = loaded_document(argv, fresh_store, LoadState.READY)
    wait_for_image(doc)
    select_box(doc, dict(zip(("x0", "x1", "y0", "y1"), box, strict=True)))
    wait_until(doc, lambda: " in x " in selection_text(doc), "no count arrived")
    assert selection_text(doc) == text


def test_a_box_without_area_is_explained(app_document: Document) -> None:
    doc = app_document
    wait_for_image(doc)
    select_box(doc, {"x0": 0.5, "x1": 0.5, "y0": -1.0, "y1": 1.0})
    assert selection_text(doc) == "the selected box has no width; drag a box to count the rows inside it"
    select_box(doc, {"x0": -1.0, "x1": 1.0, "y0": 2.0, "y1": 2.0})
    assert selection_text(doc) == "the selected box has no height; drag a box to count the rows inside it"
    select_box(doc, {"x0": 1.0, "x1": -1.0, "y0": 0.0, "y1": 2.0})
    assert selection_text(doc) == "x range must have end &gt; start, got start=1.0, end=-1.0"
    time.sleep(0.1)
    run_pending_callbacks(doc)
    assert doc.get_model_by_name("message").text == ""


def click(doc: Document, name: str) -> None:
    from bokeh.events import ButtonClick

    doc.callbacks.trigger_event(ButtonClick(doc.get_model_by_name(name)))


def downloaded(doc: Document) -> tuple[str, str, bytes]:
    """The file name, media type and bytes of the download the page is handed."""
    source = doc.get_model_by_name("download")
    wait_until(doc, lambda: len(source.data["filename"]) == 1, "no download arrived")
    data = source.data
    return data["filename"][0], data["media_type"][0], np.asarray(data["content"][0]).tobytes()


@pytest.mark.parametrize("choices", [{}, {"agg": "max", "column": "value"}], ids=["count", "max"])
def test_grid_download_is_the_grid_in_numpy_format(
    open_session: OpenSession, choices: dict[str, str]
) -> None:
    import io

    doc = open_session(VIEW | choices)
    grid = np.asarray(wait_for_image(doc)["image"][0])
    click(doc, "download_grid")
    filename, media_type, content = downloaded(doc)
    assert (filename, media_type) == ("max-value.npy" if choices else "count.npy", "application/octet-stream")
    loaded = np.load(io.BytesIO(content), allow_pickle=False)
    assert loaded.dtype == grid.dtype and loaded.shape == (30, 40)
    np.testing.assert_array_equal(loaded, grid)  # NaN (no rows) included


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.parametrize(
    ("choices", "colormap", "normalization"),
    [({}, "kbc", "linear"), ({"agg": "mean", "column": "value"}, "bmy", "log"), ({}, "fire", "eq_hist")],
)
def test_png_download_is_the_image_in_the_chosen_colours(
    fresh_store: DataStore, choices: dict[str, str], colormap: str, normalization: str
) -> None:
    import io

    from PIL import Image

    doc, _context = session_document(
        ready_handler(fresh_store), VIEW | choices | {"cmap": colormap, "norm": normalization}
    )
    grid = np.asarray(wait_for_image(doc)["image"][0])
    click(doc, "download_png")
    filename, media_type, content = downloaded(doc)
    assert (filename, media_type) == ("mean-value.png" if choices else "count.png", "image/png")
    image = Image.open(io.BytesIO(content))
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (40, 30))
    pixels = np.asarray(image)[::-1]  # bottom row first, as the grid
    empty = np.isnan(grid) if choices else grid == 0
    assert empty.any() and (~empty).any()
    assert (pixels[empty, 3] == 0).all() and (pixels[~empty, 3] == 255).all()
    palette = [rgb(colour) for colour in COLORMAPS[colormap]]
    # the scales span what the page's do: from 1 for counts (the smallest positive value for
    # log of another reduction) to the largest value
    lowest = grid[~empty & (grid > 0)].min() if choices else 1
    top = pixels[grid == np.nanmax(grid), :3]
    bottom = pixels[grid == lowest, :3]
    assert {tuple(colour) for colour in top} == {palette[-1]}
    assert {tuple(colour) for colour in bottom} == {palette[0]}


def test_a_download_before_any_image_is_refused(
    fresh_store: DataStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = ready_handler(fresh_store)
    monkeypatch.setattr(fresh_store, "submit", lambda *request: Future())  # no image ever arrives
    doc, _context = session_document(handler, {})
    click(doc, "download_grid")
    assert doc.get_model_by_name("message").text == "there is no image to download yet"
    assert doc.get_model_by_name("download").data["filename"] == []


def decoded_png(content: bytes) -> np.ndarray:
    """The RGBA pixels of a PNG, bottom row first (as a grid)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(content)) as image:
        return np.asarray(image.convert("RGBA"))[::-1]


def test_png_colours_span_the_scales_of_the_page() -> None:
    from app.export import png_bytes

    palette = [rgb(colour) for colour in COLORMAPS["kbc"]]
    assert len(palette) == 256
    # Linear counts run from 1, as on the page, not from the smallest count (2): over 1 to 256,
    # count c takes palette[c - 1], in the page's LinearColorMapper as in Datashader's shade.
    counts = np.array([[0, 2], [128, 256]], dtype=np.uint16)
    pixels = decoded_png(png_bytes(counts, True, "kbc", "linear"))
    assert pixels[0, 0, 3] == 0
    assert [tuple(pixels[j, i, :3]) for j, i in ((0, 1), (1, 0), (1, 1))] == [
        palette[1],
        palette[127],
        palette[255],
    ]
    # Log of another reduction runs from its smallest positive value; values at or below zero
    # take the lowest colour, and pixels without rows (NaN) are transparent.
    values = np.array([[np.nan, -2.0], [0.0, 0.25], [4.0, 1.0]])
    pixels = decoded_png(png_bytes(values, False, "kbc", "log"))
    assert pixels[0, 0, 3] == 0 and (pixels.reshape(-1, 4)[1:, 3] == 255).all()
    assert [tuple(pixels[j, i, :3]) for j, i in ((0, 1), (1, 0), (1, 1), (2, 0))] == [
        palette[0],
        palette[0],
        palette[0],
        palette[255],
    ]


def wait_for_rgba(doc: Document) -> dict[str, list[object]]:
    source = doc.get_model_by_name("rgba_source")
    wait_until(doc, lambda: bool(source.data["image"]), "no RGBA image arrived")
    return dict(source.data)


def raw_count_by(view: tuple[float, float, float, float]) -> np.ndarray:
    """Datashader's count-by-category grid of the synthetic rows of ``APP_ARGS`` over ``view``."""
    import datashader as ds

    from pipeline import SyntheticSource

    x0, x1, y0, y1 = view
    frame = SyntheticSource(rows=20_000).load()
    canvas = ds.Canvas(plot_width=40, plot_height=30, x_range=(x0, x1), y_range=(y0, y1))
    return canvas.points(frame, "a", "b", agg=ds.by("category", ds.count())).values


def test_count_by_category_shows_the_shaded_image_and_a_legend(open_session: OpenSession) -> None:
    from pipeline import SYNTHETIC_CATEGORIES, category_colors, shade_categories

    doc = open_session(VIEW)
    wait_for_image(doc)
    reduction = doc.get_model_by_name("reduction")
    assert ("count_by", "count by category") in reduction.options
    reduction.value = "count_by"
    column = doc.get_model_by_name("column")
    assert (column.value, column.options) == ("category", ["category"])  # only categorical columns
    data = wait_for_rgba(doc)
    assert (data["x"][0], data["y"][0], data["dw"][0], data["dh"][0]) == (-1.0, -0.5, 2.5, 2.5)

    view = tuple(float(VIEW[key]) for key in ("x0", "x1", "y0", "y1"))
    want = raw_count_by(view)
    assert want.shape == (30, 40, len(SYNTHETIC_CATEGORIES))
    colors = category_colors(len(SYNTHETIC_CATEGORIES))
    np.testing.assert_array_equal(np.asarray(data["image"][0]), shade_categories(want, colors))
    # the image source holds the rows per pixel over all categories: the hover read-out reads them
    totals = np.asarray(page_image(doc)["image"][0])
    np.testing.assert_array_equal(totals, want.sum(axis=2))
    np.testing.assert_array_equal(totals, raw_counts(40, 30, view))

    legend = doc.get_model_by_name("legend")
    assert legend.visible
    per_category = want.sum(axis=(0, 1))
    assert per_category.min() > 0  # every category has rows in this view
    for label, color, rows in zip(SYNTHETIC_CATEGORIES, colors, per_category, strict=True):
        assert (
            f"background:{color}'></span><span class='label'>{label}</span> <span class='rows'>{rows:,}<"
            in (legend.text)
        )
    plot = doc.get_model_by_name("main_plot")
    image_renderer, rgba_renderer = plot.renderers[:2]
    assert (image_renderer.visible, rgba_renderer.visible, plot.right[0].visible) == (False, True, False)
    hover = plot.select_one({"type": HoverTool})
    assert hover.renderers == [rgba_renderer]
    assert doc.get_model_by_name("colormap").disabled and doc.get_model_by_name("normalization").disabled
    assert f"{int(want.sum()):,} rows in view" in doc.get_model_by_name("status").text

    # back to a numeric reduction: its column comes back, the RGBA image and legend go
    reduction.value = "mean"
    assert (column.value, column.options) == ("value", ["value"])
    wait_until(
        doc, lambda: np.asarray(page_image(doc)["image"][0]).dtype.kind == "f", "no mean image arrived"
    )
    assert doc.get_model_by_name("rgba_source").data["image"] == []
    assert not legend.visible
    assert (image_renderer.visible, rgba_renderer.visible, plot.right[0].visible) == (True, False, True)
    assert hover.renderers == [image_renderer]
    assert not doc.get_model_by_name("colormap").disabled


def test_the_address_opens_count_by_category(fresh_store: DataStore) -> None:
    handler = ready_handler(fresh_store)
    doc, _context = session_document(handler, VIEW | {"agg": "count_by", "column": "category"})
    wait_for_rgba(doc)
    assert address_the_page_writes(doc)["agg"] == "count_by"
    assert address_the_page_writes(doc)["column"] == "category"
    assert doc.get_model_by_name("message").text == ""

    doc, _context = session_document(handler, VIEW | {"agg": "count_by", "column": "value"})
    wait_for_image(doc)
    assert doc.get_model_by_name("message").text == (
        "column=&#x27;value&#x27; in the address is not a categorical column; "
        "expected one of [&#x27;category&#x27;]; showing count"
    )
    assert doc.get_model_by_name("reduction").value == "count"


def test_png_download_of_count_by_category_is_the_shaded_image(fresh_store: DataStore) -> None:
    doc, _context = session_document(
        ready_handler(fresh_store), VIEW | {"agg": "count_by", "column": "category"}
    )
    rgba = np.asarray(wait_for_rgba(doc)["image"][0])
    click(doc, "download_png")
    filename, media_type, content = downloaded(doc)
    assert (filename, media_type) == ("count_by-category.png", "image/png")
    np.testing.assert_array_equal(decoded_png(content), rgba.view(np.uint8).reshape(30, 40, 4))


def test_the_standard_deviation_of_a_column_is_datashaders(open_session: OpenSession) -> None:
    import datashader as ds

    from pipeline import SyntheticSource

    doc = open_session(VIEW | {"agg": "std", "column": "value"})
    grid = np.asarray(wait_for_image(doc)["image"][0])
    frame = SyntheticSource(rows=20_000).load()
    cvs = ds.Canvas(40, 30, x_range=(-1.0, 1.5), y_range=(-0.5, 2.0))
    want = cvs.points(frame, "a", "b", agg=ds.std("value")).values
    assert np.isnan(want).any() and (want > 0).any()
    np.testing.assert_allclose(grid, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert doc.get_model_by_name("message").text == ""
    hover = doc.get_model_by_name("main_plot").select_one({"type": HoverTool})
    assert hover.callback.args["names"][0] == "std(value)"


def test_positive_span_of_counts_and_of_other_values() -> None:
    from app.mapper import positive_span

    assert positive_span(np.array([[0, 3], [7, 0]], dtype=np.uint16), counts=True) == (1.0, 7.0)
    assert positive_span(np.zeros((2, 2), dtype=np.uint8), counts=True) is None
    assert positive_span(np.array([[np.nan, -1.0], [0.25, 4.0]]), counts=False) == (0.25, 4.0)
    assert positive_span(np.array([[np.nan, -1.0], [0.0, np.inf]]), counts=False) is None


def test_the_page_s_plot_size_sets_the_grid_size(app_document: Document) -> None:
    doc = app_document
    assert np.asarray(wait_for_image(doc)["image"][0]).shape == (30, 40)  # --width 40 --height 30
    doc.get_model_by_name("screen").data = {"width": [64], "height": [48]}  # as the page reports it
    wire = doc.get_model_by_name("image_wire")
    wait_until(doc, lambda: wire.data["columns"] == [64], "no image at the page's size")
    grid = np.asarray(page_image(doc)["image"][0])
    assert grid.shape == (48, 64) and grid.sum() == 20_000  # every row, at the new size


def test_a_bad_plot_size_is_reported_and_the_image_kept(app_document: Document) -> None:
    doc = app_document
    wait_for_image(doc)
    packed = doc.get_model_by_name("image_wire").data["packed"][0]
    doc.get_model_by_name("screen").data = {"width": [0], "height": [48]}
    assert doc.get_model_by_name("message").text == ("canvas width must be between 1 and 4096 pixels, got 0")
    doc.get_model_by_name("screen").data = {"width": []}
    assert "the page reported its plot&#x27;s size as" in doc.get_model_by_name("message").text
    time.sleep(0.1)
    run_pending_callbacks(doc)
    assert doc.get_model_by_name("image_wire").data["packed"][0] is packed


def test_the_title_names_the_table_and_the_column_select_follows_the_reduction(
    app_document: Document,
) -> None:
    doc = app_document
    assert doc.get_model_by_name("title").text == "<b>synthetic</b> &middot; 20,000 rows &middot; x: a, y: b"
    column = doc.get_model_by_name("column")
    assert column.disabled  # count reads no column
    doc.get_model_by_name("reduction").value = "mean"
    assert not column.disabled
    doc.get_model_by_name("reduction").value = "count"
    assert column.disabled and column.value == "value"  # kept for the next reduction that reads one
