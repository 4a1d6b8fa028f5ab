"""Aggregation benchmark: this project's indexed pipeline against plain Datashader and its peers.

    python -m benchmarks.aggregation [--rows 70000000] [--repeats 5] [--out benchmarks/results]

One process, one data set (the synthetic standard normal ``a``, ``b``), an 800x600 count
canvas. Every approach runs every view in round-robin order, ``--repeats`` times, so that the
machine's noise falls on all of them alike. Prints a table of median and minimum milliseconds
with the ratio to plain Datashader, and writes ``aggregation.json`` and ``aggregation.html``
(a Bokeh chart) under ``--out``. Every approach's grid is checked against plain Datashader.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dask
import dask.dataframe as dd
import datashader as ds
import holoviews as hv
import numpy as np
import pandas as pd
from holoviews.operation.datashader import rasterize

from pipeline import (
    Canvas,
    ImageCache,
    ImageKey,
    Reduction,
    RowRangeBackend,
    SpatialIndex,
    Viewport,
    rss_bytes,
)

MiB = 1 << 20
CANVAS = Canvas(800, 600)
VIEWS: dict[str, list[Viewport]] = {
    "full": [Viewport(-5.0, 5.0, -5.0, 5.0)],
    "mid": [Viewport(-0.5, 0.5, -0.5, 0.5)],  # about 15% of rows
    "deep": [Viewport(0.0, 0.05, 0.0, 0.05)],  # about 0.04% of rows
    # a pan at a mid zoom: five steps to the right
    "pan": [Viewport(-1.0 + 0.1 * step, 0.0 + 0.1 * step, -0.5, 0.5) for step in range(5)],
}
Grid = np.ndarray
Approach = Callable[[Viewport], Grid]


def plain_datashader(frame: pd.DataFrame | dd.DataFrame) -> Approach:
    def run(viewport: Viewport) -> Grid:
        cvs = ds.Canvas(
            plot_width=CANVAS.width,
            plot_height=CANVAS.height,
            x_range=(viewport.x0, viewport.x1),
            y_range=(viewport.y0, viewport.y1),
        )
        return np.asarray(cvs.points(frame, "a", "b").values)

    return run


def holoviews_rasterize(frame: pd.DataFrame) -> Approach:
    points = hv.Points(frame, kdims=["a", "b"])

    def run(viewport: Viewport) -> Grid:
        image = rasterize(
            points,
            dynamic=False,
            x_range=(viewport.x0, viewport.x1),
            y_range=(viewport.y0, viewport.y1),
            width=CANVAS.width,
            height=CANVAS.height,
        )
        return np.asarray(image.data["a_b Count"].values)

    return run


def indexed(aggregator: RowRangeBackend) -> Approach:
    def run(viewport: Viewport) -> Grid:
        return np.asarray(aggregator.aggregate(viewport, CANVAS, Reduction()).grid)

    return run


def cached(aggregator: RowRangeBackend) -> Approach:
    cache = ImageCache(64 * MiB)

    def run(viewport: Viewport) -> Grid:
        aggregate, _ = cache.get_or_compute(
            ImageKey(viewport, CANVAS, Reduction()),
            lambda: aggregator.aggregate(viewport, CANVAS, Reduction()),
        )
        return np.asarray(aggregate.grid)

    return run


def measure(approaches: dict[str, Approach], repeats: int) -> dict[str, dict[str, list[float]]]:
    """Milliseconds per image: approach -> view -> samples (a pan's samples are per step)."""
    times: dict[str, dict[str, list[float]]] = {name: {view: [] for view in VIEWS} for name in approaches}
    plain = approaches["datashader"]
    references = {view: [plain(viewport) for viewport in viewports] for view, viewports in VIEWS.items()}
    for name, approach in approaches.items():  # warm up (compile) and check exactness once
        for view, viewports in VIEWS.items():
            for viewport, want in zip(viewports, references[view], strict=True):
                got = approach(viewport)
                if not np.array_equal(got, want):
                    raise AssertionError(
                        f"{name} differs from plain Datashader in the {view} view {viewport}"
                    )
    for _ in range(repeats):
        for name, approach in approaches.items():
            for view, viewports in VIEWS.items():
                for viewport in viewports:
                    started = time.perf_counter()
                    approach(viewport)
                    times[name][view].append((time.perf_counter() - started) * 1e3)
    return times


def summarise(times: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, dict[str, float]]]:
    baseline = {view: statistics.median(samples) for view, samples in times["datashader"].items()}
    return {
        name: {
            view: {
                "median_ms": statistics.median(samples),
                "min_ms": min(samples),
                "speedup": baseline[view] / statistics.median(samples),
            }
            for view, samples in views.items()
        }
        for name, views in times.items()
    }


def write_chart(summary: dict[str, dict[str, dict[str, float]]], path: Path, title: str) -> None:
    from bokeh.io import output_file, save
    from bokeh.models import ColumnDataSource, FactorRange, LabelSet
    from bokeh.plotting import figure
    from bokeh.transform import factor_cmap

    factors = [(view, name) for view in VIEWS for name in summary]
    medians = [summary[name][view]["median_ms"] for view, name in factors]
    source = ColumnDataSource({"factors": factors, "median": medians, "label": [f"{m:.1f}" for m in medians]})
    plot = figure(
        x_range=FactorRange(*factors),
        y_axis_type="log",
        height=450,
        width=1100,
        title=title,
        y_axis_label="median ms per image (log scale)",
        toolbar_location=None,
    )
    names = list(summary)
    plot.vbar(
        x="factors",
        top="median",
        bottom=0.1,
        width=0.9,
        source=source,
        fill_color=factor_cmap("factors", "Category10_10", names, start=1, end=2),
    )
    plot.add_layout(
        LabelSet(
            x="factors",
            y="median",
            text="label",
            source=source,
            text_font_size="8pt",
            text_align="center",
            y_offset=2,
        )
    )
    plot.xaxis.major_label_orientation = 1.0
    output_file(path, title=title)
    save(plot)


def run(rows: int, repeats: int, out: Path, dask_partitions: int = 8) -> dict[str, object]:
    from pipeline import SyntheticSource

    frame = SyntheticSource(rows=rows, seed=0, extra_columns=()).load()
    rss_frame = rss_bytes()
    started = time.perf_counter()
    sorted_frame, index = SpatialIndex.sort_frame(frame.copy(), "a", "b")
    index_seconds = time.perf_counter() - started
    pool = ThreadPoolExecutor(1)
    aggregator = RowRangeBackend(sorted_frame, x="a", y="b", index=index, pool=pool, threads=2)
    one_thread = RowRangeBackend(sorted_frame, x="a", y="b", index=index, pool=None, threads=1)
    dask.config.set(scheduler="threads")
    dask_frame = dd.from_pandas(frame, npartitions=dask_partitions).persist()
    approaches: dict[str, Approach] = {
        "datashader": plain_datashader(frame),
        "holoviews": holoviews_rasterize(frame),
        "dask": plain_datashader(dask_frame),
        "indexed 1 thread": indexed(one_thread),
        "indexed": indexed(aggregator),
        "indexed + cache": cached(aggregator),
    }
    times = measure(approaches, repeats)
    summary = summarise(times)
    frame_bytes = int(frame.memory_usage().sum())
    report: dict[str, object] = {
        "rows": rows,
        "repeats": repeats,
        "canvas": [CANVAS.width, CANVAS.height],
        "rows_in_view": {
            view: int(approaches["datashader"](viewports[0]).sum()) for view, viewports in VIEWS.items()
        },
        "index_build_s": index_seconds,
        "index_bytes": index.nbytes,
        "frame_bytes": frame_bytes,
        "index_overhead_fraction": index.nbytes / frame_bytes,
        "rss_after_frame_mib": rss_frame / MiB,
        "summary": summary,
        "samples_ms": times,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "aggregation.json").write_text(json.dumps(report, indent=2))
    write_chart(summary, out / "aggregation.html", f"{rows:,} rows, 800x600 count: median ms per image")
    pool.shutdown()
    return report


def format_table(report: dict[str, object]) -> str:
    summary = report["summary"]
    assert isinstance(summary, dict)
    lines = [
        "| approach | " + " | ".join(f"{v} median / min ms (x faster)" for v in VIEWS) + " |",
        "|---|" + "---|" * len(VIEWS),
    ]
    for name, views in summary.items():
        cells = [f"{f['median_ms']:.1f} / {f['min_ms']:.1f} ({f['speedup']:.1f}x)" for f in views.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=70_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    options = parser.parse_args()
    report = run(options.rows, options.repeats, options.out)
    print(
        f"{options.rows:,} rows, canvas 800x600, {options.repeats} round-robin repeats; "
        f"rows in view: {report['rows_in_view']}"
    )
    print(
        f"index: built in {report['index_build_s']:.1f} s, {report['index_bytes'] / MiB:.1f} MiB "
        f"({report['index_overhead_fraction']:.2%} of the {report['frame_bytes'] / MiB:.0f} MiB frame)"
    )
    print(format_table(report))
    print(f"written: {options.out / 'aggregation.json'}, {options.out / 'aggregation.html'}")


if __name__ == "__main__":
    main()
