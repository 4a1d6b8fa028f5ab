"""The page's scripts and their arguments, without a browser: what each script in ``app/js``
declares, what the built document gives each, and what the loader refuses."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, CustomJS, CustomJSTransform, HoverTool, Model
from bokeh.models.formatters import CustomJSTickFormatter

from app import scripts
from app.scripts import (
    ScriptError,
    custom_js,
    custom_js_transform,
    declared_arguments,
    script_code,
    script_names,
)
from harness.documents import APP_ARGS, loaded_document, run_pending_callbacks, wait_for_image
from pipeline import DataStore, LoadState

# every script the app runs; a script missing from app/js would otherwise pass unnoticed
APP_SCRIPTS = {
    "compact_ticks",
    "count_eq_hist",
    "download",
    "fit_window",
    "histogram_edges",
    "keep_in_address",
    "pixel_readout",
    "spread",
    "unpack",
}


@pytest.fixture
def uncached_scripts() -> Iterator[None]:
    """The loader's caches emptied before and after, for a test that points it at other files."""
    script_code.cache_clear()
    declared_arguments.cache_clear()
    yield
    script_code.cache_clear()
    declared_arguments.cache_clear()


def code_without_comments(code: str) -> str:
    # whole-line comments and comments after two spaces, as the scripts write them; a name that
    # appears only in the header explains an argument but does not use it
    lines = (line for line in code.splitlines() if not line.lstrip().startswith("//"))
    return "\n".join(re.sub(r"\s{2,}//.*$", "", line) for line in lines)


def test_every_script_the_app_runs_is_in_the_folder() -> None:
    assert set(script_names()) == APP_SCRIPTS


@pytest.mark.parametrize("name", sorted(APP_SCRIPTS))
def test_every_script_declares_the_arguments_it_uses(name: str) -> None:
    code = script_code(name)
    first_line = code.partition("\n")[0]
    declared = declared_arguments(name)
    assert first_line == f"// arguments: {', '.join(declared)}"
    assert declared, name
    body = code_without_comments(code)
    unused = [argument for argument in declared if not re.search(rf"\b{re.escape(argument)}\b", body)]
    assert not unused, f"{name}.js declares {unused} but never uses them"


def test_the_loader_reads_each_script_once() -> None:
    assert script_code("download") is script_code("download")
    assert script_code("download") == (scripts.SCRIPTS_FOLDER / "download.js").read_text(encoding="utf-8")


def test_the_loader_gives_the_whole_script_and_the_arguments() -> None:
    source = ColumnDataSource()
    callback = custom_js("download", {"source": source})
    assert callback.code == script_code("download")
    assert callback.args == {"source": source}
    transform = custom_js_transform("histogram_edges", {"source": source, "axis": "x"})
    assert transform.v_func == script_code("histogram_edges")
    assert transform.args == {"source": source, "axis": "x"}


def test_the_loader_refuses_a_renamed_argument() -> None:
    with pytest.raises(ScriptError) as refused:
        custom_js("download", {"src": ColumnDataSource()})
    message = str(refused.value)
    assert "'download'" in message
    assert "missing ['source']" in message
    assert "unexpected ['src']" in message
    assert "declares arguments ['source']" in message


def test_the_transform_loader_refuses_a_renamed_argument() -> None:
    with pytest.raises(ScriptError, match=r"missing \['axis'\], unexpected \['axes'\]"):
        custom_js_transform("histogram_edges", {"source": ColumnDataSource(), "axes": "x"})


def test_the_loader_refuses_a_missing_or_an_extra_argument() -> None:
    with pytest.raises(ScriptError, match=r"missing \['axis'\], unexpected \[\]"):
        custom_js_transform("histogram_edges", {"source": ColumnDataSource()})
    with pytest.raises(ScriptError, match=r"missing \[\], unexpected \['extra'\]"):
        custom_js("download", {"source": ColumnDataSource(), "extra": 1})


def test_the_loader_refuses_an_unknown_script() -> None:
    with pytest.raises(ScriptError, match="no script 'downlaod'"):
        custom_js("downlaod", {"source": ColumnDataSource()})


def test_the_loader_refuses_a_script_without_its_declaration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uncached_scripts: None
) -> None:
    (tmp_path / "bare.js").write_text("// Does something.\nsource.change.emit()\n")
    (tmp_path / "twice.js").write_text("// arguments: source, source\nsource.change.emit()\n")
    monkeypatch.setattr(scripts, "SCRIPTS_FOLDER", tmp_path)
    assert script_names() == ("bare", "twice")
    with pytest.raises(ScriptError, match="'bare' does not begin with its '// arguments: "):
        custom_js("bare", {"source": ColumnDataSource()})
    with pytest.raises(ScriptError, match=r"'twice' .* repeats \['source'\]"):
        declared_arguments("twice")


def scripted_models(doc: Document) -> list[CustomJS | CustomJSTransform | CustomJSTickFormatter]:
    """Every CustomJS and CustomJSTransform of ``doc``: those its models reference, and the
    document's own event callbacks."""
    found: dict[str, CustomJS | CustomJSTransform | CustomJSTickFormatter] = {}
    models: list[Model] = [model for root in doc.roots for model in root.references()]
    models += list(doc.models)
    for callbacks in doc.callbacks.js_event_callbacks.values():
        for callback in callbacks:
            models += callback.references()
    for model in models:
        if isinstance(model, CustomJS | CustomJSTransform | CustomJSTickFormatter):
            found[model.id] = model
    return list(found.values())


def check_every_script_gets_its_declared_arguments(doc: Document) -> None:
    by_code = {script_code(name): name for name in script_names()}
    used: set[str] = set()
    for model in scripted_models(doc):
        code = model.v_func if isinstance(model, CustomJSTransform) else model.code
        assert code in by_code, (
            f"a {type(model).__name__} whose code is in no script of app/js: {code[:200]!r}"
        )
        name = by_code[code]
        used.add(name)
        declared = declared_arguments(name)
        given = sorted(model.args)
        assert given == sorted(declared), f"{name}: given {given}, declares {list(declared)}"
        assert not isinstance(model, CustomJSTransform) or model.func == "", name
    assert used == set(script_names())


def test_every_callback_in_the_app_gets_its_scripts_declared_arguments(fresh_store: DataStore) -> None:
    doc = loaded_document(APP_ARGS, fresh_store, LoadState.READY)
    check_every_script_gets_its_declared_arguments(doc)
    # the read-out's arguments are replaced when the reduction changes: still as declared
    wait_for_image(doc)
    plot: Any = doc.get_model_by_name("main_plot")
    reduction: Any = doc.get_model_by_name("reduction")
    hover: Any = plot.select_one({"type": HoverTool})
    reduction.value = "mean"
    for _ in range(500):
        run_pending_callbacks(doc)
        if hover.callback.args["names"][0] != "count":
            break
        time.sleep(0.01)
    assert hover.callback.args["names"][0] == "mean(value)"
    check_every_script_gets_its_declared_arguments(doc)
