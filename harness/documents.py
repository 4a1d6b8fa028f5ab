"""The app in-process, as Bokeh tests its examples: its directory handler, hooks and documents.

A document built here is a session's document without a server: :func:`run_pending_callbacks`
runs what the server's event loop would, and results from the store's threads arrive through
it (:func:`wait_until`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from bokeh.application.handlers import DirectoryHandler
from bokeh.document import Document
from bokeh.server.contexts import BokehSessionContext, _RequestProxy
from bokeh.util.token import generate_session_id

from app.wire import unpacked_image
from harness.server import APP_DIR
from pipeline import DataStore, LoadState

__all__ = [
    "APP_ARGS",
    "WAIT_SECONDS",
    "loaded_document",
    "make_handler",
    "page_image",
    "ready_handler",
    "run_pending_callbacks",
    "session_document",
    "wait_for_image",
    "wait_until",
]

APP_ARGS = ["--rows", "20000", "--width", "40", "--height", "30"]
WAIT_SECONDS = 60.0  # a reduction's first image may wait for its kernels to compile


def make_handler(argv: list[str]) -> DirectoryHandler:
    """The app's handler, given ``argv`` after ``--args``; it must not have failed."""
    handler = DirectoryHandler(filename=str(APP_DIR), argv=argv)
    assert not handler.failed, handler.error_detail
    return handler


def run_pending_callbacks(doc: Document) -> None:
    """Run what the server's event loop would: next-tick and periodic callbacks, once each."""
    for callback in list(doc.session_callbacks):
        callback.callback()


def wait_until(doc: Document, condition: Callable[[], bool], failure: str) -> None:
    """Run the document's callbacks until ``condition`` holds (results come from worker threads)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run_pending_callbacks(doc)
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(failure)


def page_image(doc: Document) -> dict[str, list[Any]]:
    """The image data the page unpacks from the session's ``image_wire``: the page's ``image_source``."""
    return unpacked_image(doc.get_model_by_name("image_wire").data)  # type: ignore[union-attr]


def wait_for_image(doc: Document) -> dict[str, list[Any]]:
    """The page's image data, once an image has arrived."""
    wire: Any = doc.get_model_by_name("image_wire")
    wait_until(doc, lambda: bool(wire.data["packed"]), "no image arrived")
    return page_image(doc)


def loaded_document(argv: list[str], store: DataStore, state: LoadState) -> Document:
    """Run the app's hooks, wait for the load to end in ``state``, then build one session."""
    handler = make_handler(argv)
    handler.on_server_loaded(SimpleNamespace())  # type: ignore[arg-type]
    assert store.wait_ready(60).state is state
    doc = Document()
    handler.modify_document(doc)
    assert not handler.failed, handler.error_detail
    return doc


def ready_handler(store: DataStore, argv: list[str] = APP_ARGS) -> DirectoryHandler:
    """The app's handler with its hooks run and its data ready."""
    handler = make_handler(argv)
    handler.on_server_loaded(SimpleNamespace())  # type: ignore[arg-type]
    assert store.wait_ready(60).state is LoadState.READY
    return handler


def session_document(
    handler: DirectoryHandler, arguments: dict[str, str]
) -> tuple[Document, BokehSessionContext]:
    """One session's document, built as ``bokeh serve`` does for a page whose address has
    ``arguments``, and its session context (keep it: the document only refers to it weakly)."""
    doc = Document()
    context = BokehSessionContext(generate_session_id(), SimpleNamespace(), doc)  # type: ignore[arg-type]
    context._request = _RequestProxy(
        SimpleNamespace(),  # type: ignore[arg-type]
        arguments={key: [value.encode()] for key, value in arguments.items()},
    )
    doc._session_context = weakref.ref(context)
    handler.modify_document(doc)
    assert not handler.failed, handler.error_detail
    return doc, context
