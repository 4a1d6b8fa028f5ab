"""Shared fixtures: small frames, a fresh process-wide store, the app's documents in-process."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pytest
from bokeh.document import Document
from bokeh.server.contexts import BokehSessionContext

from harness.browser import browser_problem
from harness.documents import APP_ARGS, loaded_document, ready_handler, session_document
from pipeline import DataStore, LoadState, Settings, get_store

# opens one session of the app whose page address has these query arguments
OpenSession = Callable[[dict[str, str]], Document]

_CACHE_HOME = tempfile.mkdtemp(prefix="test-cache-home-")


def pytest_configure(config: pytest.Config) -> None:
    """Columnar caches written by tests (and by servers they start) go to a throwaway folder."""
    os.environ["XDG_CACHE_HOME"] = _CACHE_HOME


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_CACHE_HOME, ignore_errors=True)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``browser`` skips, with the reason, where no browser can be launched;
    with ``REQUIRE_BROWSER`` set (CI installs Chromium), it fails instead."""
    if item.get_closest_marker("browser") is None:
        return
    problem = browser_problem()
    if problem is None:
        return
    if os.environ.get("REQUIRE_BROWSER"):
        pytest.fail(f"{problem}; REQUIRE_BROWSER is set")
    pytest.skip(problem)


@pytest.fixture
def fresh_store() -> Iterator[DataStore]:
    """A new process-wide store, closed afterwards."""
    get_store.cache_clear()
    store = get_store()
    yield store
    store.close()
    get_store.cache_clear()


@pytest.fixture
def app_document(fresh_store: DataStore) -> Document:
    """One session's document of the app on small synthetic data (``APP_ARGS``), its data ready."""
    return loaded_document(APP_ARGS, fresh_store, LoadState.READY)


@pytest.fixture
def open_session(fresh_store: DataStore) -> Iterator[OpenSession]:
    """Opens sessions of the app on ``APP_ARGS`` for page addresses with the given arguments;
    their session contexts live as long as the test (a document refers to its own weakly)."""
    handler = ready_handler(fresh_store)
    contexts: list[BokehSessionContext] = []

    def open_session(arguments: dict[str, str]) -> Document:
        doc, context = session_document(handler, arguments)
        contexts.append(context)
        return doc

    yield open_session
    contexts.clear()


def load_store(store: DataStore, settings: Settings) -> DataStore:
    store.start(settings)
    status = store.wait_ready(120)
    assert status.state.value in ("ready", "failed")
    return store


@pytest.fixture
def points_frame() -> pd.DataFrame:
    """5,000 rows: clustered normal points, some NaN and infinite, a numeric value column."""
    rng = np.random.default_rng(42)
    n = 5_000
    x = np.concatenate([rng.normal(0, 1, n - 200), rng.normal(3, 0.1, 200)])
    y = np.concatenate([rng.normal(0, 2, n - 200), rng.normal(-3, 0.1, 200)])
    x[:7] = [np.nan, np.inf, -np.inf, 1.0, np.nan, 0.5, 0.25]
    y[:7] = [0.0, 1.0, 2.0, np.nan, np.inf, -np.inf, np.nan]
    value = rng.exponential(1.0, n)
    value[10:20] = np.nan
    return pd.DataFrame({"x": x, "y": y, "value": value})
