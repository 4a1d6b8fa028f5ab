"""The app's options, parsed from ``bokeh serve app --args ...`` into one value object."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .column_cache import default_cache_dir
from .errors import PipelineError
from .sources import SOURCE_SUFFIXES, DataSource, SyntheticSource, open_source
from .viewport import MAX_CANVAS_PIXELS

__all__ = ["DEFAULT_ROWS", "Settings", "parse_settings"]

DEFAULT_ROWS = 70_000_000
DEFAULT_CACHE_MB = 128
BACKENDS = ("pandas", "dask")


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the process-wide data and its images."""

    source: Path | None = None
    x: str | None = None
    y: str | None = None
    columns: tuple[str, ...] = ()
    rows: int = DEFAULT_ROWS
    seed: int = 0
    width: int = 800
    height: int = 600
    cache_mb: int = DEFAULT_CACHE_MB
    threads: int = 2
    index: bool = True
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    backend: str = "pandas"
    min_count: int = 0
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise PipelineError(f"unknown backend {self.backend!r}; expected one of {list(BACKENDS)}")
        if self.scheduler is not None and (self.backend != "dask" or self.cache_dir is None):
            raise PipelineError("a Dask scheduler needs backend='dask' and a cache folder for the workers")

    def make_source(self) -> DataSource:
        """The data source these settings describe (synthetic when no file is given)."""
        if self.source is None:
            return SyntheticSource(
                rows=self.rows, seed=self.seed, x=self.x or "a", y=self.y or "b", threads=self.threads
            )
        return open_source(self.source, x=self.x or "x", y=self.y or "y", extra_columns=self.columns)


def _bounded_int(name: str, low: int, high: int) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
        return value

    parse.__name__ = name
    return parse  # type: ignore[return-value]


def _column_list(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(",") if name.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bokeh serve app --args",
        description="Serve one shared table of points; every viewer gets Datashader images of it.",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help=f"CSV or Parquet file to serve ({', '.join(SOURCE_SUFFIXES)}); "
        "default: synthetic standard normal points",
    )
    parser.add_argument(
        "--x", help="column for the horizontal axis (default: 'x', or 'a' for synthetic data)"
    )
    parser.add_argument("--y", help="column for the vertical axis (default: 'y', or 'b' for synthetic data)")
    parser.add_argument(
        "--columns",
        type=_column_list,
        default=(),
        help="comma-separated extra numeric columns to load for sum/mean/min/max",
    )
    parser.add_argument(
        "--rows",
        type=_bounded_int("rows", 1, 2_000_000_000),
        default=DEFAULT_ROWS,
        help=f"rows of synthetic data (default {DEFAULT_ROWS:,})",
    )
    parser.add_argument(
        "--seed", type=_bounded_int("seed", 0, 2**63 - 1), default=0, help="synthetic data seed"
    )
    parser.add_argument(
        "--width",
        type=_bounded_int("width", 16, MAX_CANVAS_PIXELS),
        default=800,
        help="image width in pixels",
    )
    parser.add_argument(
        "--height",
        type=_bounded_int("height", 16, MAX_CANVAS_PIXELS),
        default=600,
        help="image height in pixels",
    )
    parser.add_argument(
        "--cache-mb",
        type=_bounded_int("cache-mb", 0, 1 << 20),
        default=DEFAULT_CACHE_MB,
        help=f"memory for recent images shared by all viewers, in MiB (default {DEFAULT_CACHE_MB})",
    )
    parser.add_argument(
        "--threads",
        type=_bounded_int("threads", 1, 256),
        default=2,
        help="threads per aggregation (default 2)",
    )
    parser.add_argument(
        "--no-index",
        dest="index",
        action="store_false",
        help="scan every row for every image (for comparison)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default_cache_dir(),
        help="folder for the columnar copy of the data that later loads and other processes map "
        f"(default {default_cache_dir()})",
    )
    parser.add_argument(
        "--no-cache",
        dest="cache_dir",
        action="store_const",
        const=None,
        help="read the source every time; write no columnar copy",
    )
    parser.add_argument(
        "--min-count",
        type=_bounded_int("min-count", 0, 2**31 - 1),
        default=0,
        metavar="K",
        help="leave empty every pixel made of fewer than K rows, so no image reveals a few "
        "individual rows (default 0: show all)",
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="pandas",
        help="'pandas': indexed row ranges aggregated by this process's threads (default); "
        "'dask': Datashader's Dask path over partitions of the same rows",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="address of a Dask scheduler (tcp://HOST:PORT): aggregate on that cluster's workers, "
        "which map the rows from the cache folder (implies --backend dask)",
    )
    return parser


def parse_settings(argv: Sequence[str]) -> Settings:
    """Parse app arguments; a bad option exits with a message that lists the valid ones."""
    parser = build_parser()
    namespace = parser.parse_args(list(argv))
    if namespace.scheduler is not None:
        if namespace.cache_dir is None:
            parser.error(
                "--scheduler needs the cache folder: the workers read the rows from it; drop --no-cache"
            )
        namespace.backend = "dask"
    return Settings(**vars(namespace))
