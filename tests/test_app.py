"""The app in-process, as Bokeh tests its examples: directory handler, hooks, modify_document."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from bokeh.application.handlers import DirectoryHandler
from bokeh.document import Document
from bokeh.models import EqHistColorMapper, Range1d, WheelZoomTool

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
