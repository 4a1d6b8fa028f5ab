"""Columns as real tables have them: text with missing cells, booleans, numbers with a few text cells."""

from __future__ import annotations

import logging
from pathlib import Path

import datashader as ds
import numpy as np
import pandas as pd
import pytest

from pipeline import Canvas, DataStore, Reduction, Settings, Viewport
from pipeline.column_types import MISSING_LEVEL, OTHER_LEVEL, read_column

from .conftest import load_store

ROWS = 6_000
CARRIERS = ["UA", "AA", "DL", "WN", "B6"]


@pytest.fixture
def flights_csv(tmp_path: Path) -> Path:
    """Skewed clusters of points with a text column (some cells empty), a boolean column and a
    delay column in which a few cells are "-"."""
    rng = np.random.default_rng(11)
    hub = rng.choice(3, ROWS, p=[0.7, 0.2, 0.1])
    lon = np.array([-87.9, -118.4, -73.8])[hub] + rng.normal(0, 0.3, ROWS)
    lat = np.array([41.9, 33.9, 40.6])[hub] + rng.normal(0, 0.2, ROWS)
    carrier = rng.choice(CARRIERS, ROWS, p=[0.4, 0.3, 0.15, 0.1, 0.05]).astype(object)
    carrier[rng.random(ROWS) < 0.03] = ""  # empty cells: missing
    delay = np.round(rng.exponential(12, ROWS), 1).astype(str).astype(object)
    delay[rng.random(ROWS) < 0.01] = "-"
    frame = pd.DataFrame(
        {"lon": lon, "lat": lat, "carrier": carrier, "cancelled": rng.random(ROWS) < 0.1, "delay": delay}
    )
    path = tmp_path / "flights.csv"
    frame.to_csv(path, index=False)
    return path


def reference(path: Path) -> pd.DataFrame:
    """The table as pandas reads it, prepared independently of the app's code."""
    frame = pd.read_csv(path, na_values=["-"], keep_default_na=True)
    carrier = frame["carrier"].fillna(MISSING_LEVEL)
    frame["carrier"] = pd.Categorical(carrier, categories=sorted(carrier.unique()))
    return frame


def test_text_boolean_and_numbers_with_text_cells_are_read_by_their_type(
    fresh_store: DataStore, flights_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        source=flights_csv, x="lon", y="lat", columns=("carrier", "cancelled", "delay"), width=48, height=32
    )
    with caplog.at_level(logging.INFO, logger="pipeline.sources"):
        load_store(fresh_store, settings)
    dataset = fresh_store.dataset
    assert dataset.categorical_columns == ["carrier", "cancelled"]
    assert dataset.numeric_columns == ["delay"]
    assert dataset.categories("carrier") == sorted([*CARRIERS, MISSING_LEVEL])
    assert dataset.categories("cancelled") == ["false", "true"]
    want = reference(flights_csv)
    text_cells = int(want["delay"].isna().sum())
    assert f"column 'delay': {text_cells:,} cells that are not numbers read as missing" in caplog.text

    view = Viewport(-119.0, -73.0, 33.0, 42.5)
    cvs = ds.Canvas(48, 32, x_range=(view.x0, view.x1), y_range=(view.y0, view.y1))
    got = fresh_store.render(view, Canvas(48, 32), Reduction("count_by", "carrier")).aggregate.grid
    np.testing.assert_array_equal(
        got, cvs.points(want, "lon", "lat", agg=ds.by("carrier", ds.count())).values
    )
    got = fresh_store.render(view, Canvas(48, 32), Reduction("mean", "delay")).aggregate.grid
    expected = cvs.points(want, "lon", "lat", agg=ds.mean("delay")).values
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)  # text cells skipped, as NaN


def test_a_text_column_of_many_levels_keeps_its_most_frequent(caplog: pytest.LogCaptureFixture) -> None:
    counts = {f"route {i:02d}": 30 - i for i in range(30)}  # route 00 most frequent
    column = pd.Series([name for name, count in counts.items() for _ in range(count)])
    read = read_column("route", column, max_levels=5)
    assert list(read.values.cat.categories) == sorted(
        [OTHER_LEVEL, "route 00", "route 01", "route 02", "route 03"]
    )
    assert int((read.values == OTHER_LEVEL).sum()) == sum(list(counts.values())[4:])
    assert read.note == (
        f"column 'route': 30 levels, more than --max-levels 5; the 26 least frequent "
        f"({sum(list(counts.values())[4:]):,} rows) read as {OTHER_LEVEL!r}"
    )


def test_a_mostly_text_column_is_a_category_not_numbers() -> None:
    column = pd.Series(["3", "north", "south", "7", "north"])
    read = read_column("where", column)
    assert isinstance(read.values.dtype, pd.CategoricalDtype)
    assert list(read.values) == ["3", "north", "south", "7", "north"]


def test_nullable_integers_become_floats_with_nan() -> None:
    read = read_column("seats", pd.Series([150, None, 180], dtype="Int64"))
    assert read.values.dtype == np.float64
    np.testing.assert_array_equal(read.values, [150.0, np.nan, 180.0])
