"""The app in-process, as Bokeh tests its examples: directory handler, hooks, modify_document."""

from __future__ import annotations

import logging
import time
import weakref
from pathlib import Path
from types import SimpleNamespace

import colorcet
import numpy as np
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
from bokeh.server.contexts import BokehSessionContext, _RequestProxy
from bokeh.util.token import generate_session_id

from app.mapper import COLORMAPS, ImageColours
from harness.server import APP_DIR
from pipeline import DataStore, LoadState

APP_ARGS = ["--rows", "20000", "--width", "40", "--height", "30"]


def make_handler(argv: list[str]) -> DirectoryHandler:
    handler = DirectoryHandler(filename=str(APP_DIR), argv=argv)
    assert not handler.failed, handler.error_detail
    return handler


def run_pending_callbacks(doc: Document) -> None:
    """Run what the server's event loop would: next-tick and periodic callbacks, once each."""
    for callback in list(doc.session_callbacks):
        callback.callback()


def wait_for_image(doc: Document) -> dict[str, list[object]]:
    source = doc.get_model_by_name("image_source")
    for _ in range(200):
        run_pending_callbacks(doc)
        if source.data["image"]:
            return dict(source.data)
        time.sleep(0.01)  # the render runs on the store's threads
    raise AssertionError("no image arrived")


def loaded_document(argv: list[str], store: DataStore, state: LoadState) -> Document:
    """Run the app's hooks, wait for the load to end in ``state``, then build one session."""
    handler = make_handler(argv)
    handler.on_server_loaded(SimpleNamespace())
    assert store.wait_ready(60).state is state
    doc = Document()
    handler.modify_document(doc)
    assert not handler.failed, handler.error_detail
    return doc


def test_app_builds_the_plot_from_the_shared_store(fresh_store: DataStore) -> None:
    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)

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
    assert images[0] is images[1] or np.shares_memory(images[0], images[1])


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


def test_bad_ranges_are_reported_to_the_session(fresh_store: DataStore) -> None:
    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    plot = doc.get_model_by_name("main_plot")
    plot.x_range.start, plot.x_range.end = 5, 1
    run_pending_callbacks(doc)  # the settle timeout
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
    source = doc.get_model_by_name("image_source")
    reduction = doc.get_model_by_name("reduction")
    assert reduction.options == ["count", "max", "mean", "min", "sum"]
    assert doc.get_model_by_name("column").value == "value"
    reduction.value = "mean"
    for _ in range(500):
        run_pending_callbacks(doc)
        grid = np.asarray(source.data["image"][0])
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


def session_document(
    handler: DirectoryHandler, arguments: dict[str, str]
) -> tuple[Document, BokehSessionContext]:
    """One session's document, built as ``bokeh serve`` does for a page whose address has
    ``arguments``, and its session context (keep it: the document only refers to it weakly)."""
    doc = Document()
    context = BokehSessionContext(generate_session_id(), SimpleNamespace(), doc)
    context._request = _RequestProxy(
        SimpleNamespace(), arguments={key: [value.encode()] for key, value in arguments.items()}
    )
    doc._session_context = weakref.ref(context)
    handler.modify_document(doc)
    assert not handler.failed, handler.error_detail
    return doc, context


def ready_handler(store: DataStore) -> DirectoryHandler:
    handler = make_handler(APP_ARGS)
    handler.on_server_loaded(SimpleNamespace())
    assert store.wait_ready(60).state is LoadState.READY
    return handler


def address_the_page_writes(doc: Document) -> dict[str, str]:
    """The query that the page's address script writes from this document's models."""
    plot = doc.get_model_by_name("main_plot")
    ends = {
        "x0": plot.x_range.start,
        "x1": plot.x_range.end,
        "y0": plot.y_range.start,
        "y1": plot.y_range.end,
    }
    choices = {"agg": "reduction", "column": "column", "cmap": "colormap", "norm": "normalization"}
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
    }
    doc, _context = session_document(handler, address)
    data = wait_for_image(doc)
    assert (data["x"][0], data["y"][0], data["dw"][0], data["dh"][0]) == (-1.0, -0.5, 2.5, 2.5)
    grid = np.asarray(data["image"][0])
    assert grid.dtype.kind == "f"  # the maximum of a column, not counts
    assert [
        doc.get_model_by_name(name).value for name in ("reduction", "column", "colormap", "normalization")
    ] == [
        "max",
        "value",
        "bmy",
        "log",
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
            {"agg": "median", "cmap": "nope", "norm": "sqrt"},
            [
                "agg=&#x27;median&#x27; in the address is not one of "
                "[&#x27;count&#x27;, &#x27;max&#x27;, &#x27;mean&#x27;, &#x27;min&#x27;, &#x27;sum&#x27;]; "
                "showing count",
                "cmap=&#x27;nope&#x27; in the address is not one of "
                "[&#x27;fire&#x27;, &#x27;bmy&#x27;, &#x27;bgy&#x27;, &#x27;kbc&#x27;, &#x27;blues&#x27;, "
                "&#x27;dimgray&#x27;, &#x27;rainbow4&#x27;]; showing &#x27;fire&#x27;",
                "norm=&#x27;sqrt&#x27; in the address is not one of "
                "[&#x27;eq_hist&#x27;, &#x27;log&#x27;, &#x27;linear&#x27;]; showing &#x27;eq_hist&#x27;",
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
                "column=&#x27;a&#x27; in the address is not a numeric column; "
                "expected one of [&#x27;value&#x27;]; ignoring it",
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
    # the app's modules are named bokeh_app_<hash>.view under Bokeh's DirectoryHandler
    logged = [
        record.getMessage().split(": ", 1)[1] for record in caplog.records if record.name.endswith(".view")
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
    assert doc.get_model_by_name("image_source").data["image"][0] is image


def test_the_hover_names_the_reduction_of_the_image(fresh_store: DataStore) -> None:
    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    wait_for_image(doc)
    hover = doc.get_model_by_name("main_plot").select_one({"type": HoverTool})
    assert hover.tooltips == [("count", "$index{value}"), ("a", "$x{x}"), ("b", "$y{y}")]
    assert hover.renderers == [doc.get_model_by_name("main_plot").renderers[0]]
    doc.get_model_by_name("reduction").value = "mean"
    for _ in range(500):
        run_pending_callbacks(doc)
        if hover.tooltips[0][0] != "count":
            break
        time.sleep(0.01)
    assert hover.tooltips == [("mean(value)", "$index{value}"), ("a", "$x{x}"), ("b", "$y{y}")]
    assert np.asarray(doc.get_model_by_name("image_source").data["image"][0]).dtype.kind == "f"


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
