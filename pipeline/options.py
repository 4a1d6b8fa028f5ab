"""The table of the server's command-line options: each declared once, with its reader, default and help.

``Settings`` takes its fields' defaults from here and ``build_parser`` makes one argparse argument of
each row, so an option's spelling, type, bounds, default and help text are written in one place.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .backends import BACKENDS as BACKEND_FACTORIES
from .column_types import DEFAULT_MAX_LEVELS, OTHER_LEVEL
from .columnar_copy import default_cache_dir
from .sources import SOURCE_SUFFIXES
from .viewport import MAX_CANVAS_PIXELS

__all__ = ["BACKENDS", "OPTIONS", "OPTIONS_BY_NAME", "Option", "Switch"]

BACKENDS = tuple(BACKEND_FACTORIES)  # the backend registry's names, in its order


@dataclass(frozen=True)
class Switch:
    """A spelling that takes no value and sets its option to a fixed one, such as ``--no-cache``."""

    spelling: str
    value: object
    help: str


@dataclass(frozen=True)
class Option:
    """One option: the ``Settings`` field it fills, how its text is read, its default and help.

    ``help`` may name the default as ``{default}`` (with a format spec, e.g. ``{default:,}``), so the
    help line cannot drift from it. ``parse`` is None for an option that only its switches set.
    ``default_factory``, where given, makes the default at each use instead of ``default``.
    """

    name: str
    parse: Callable[[str], object] | None
    # Any: the table holds options of every type; the Settings field's annotation gives this one's
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    switches: tuple[Switch, ...] = ()
    default_factory: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        if self.parse is None and not self.switches:
            raise ValueError(f"option {self.name!r} has neither a value nor a switch to set it")
        if self.parse is None and self.help:
            raise ValueError(f"option {self.name!r} has no {self.spelling} VALUE to show help for")
        if self.choices and self.make_default() not in self.choices:
            raise ValueError(f"option {self.name!r} defaults to a value outside its choices")

    @property
    def spelling(self) -> str:
        """The spelling that takes a value: ``cache_mb`` is ``--cache-mb``."""
        return "--" + self.name.replace("_", "-")

    def make_default(self) -> Any:
        """The default, made now where it depends on the environment (the cache folder)."""
        return self.default if self.default_factory is None else self.default_factory()

    def help_text(self, default: object) -> str:
        """The help line of ``--name VALUE``, naming ``default`` where it says ``{default}``."""
        return self.help.format(default=default)


def _bounded_int(name: str, low: int, high: int) -> Callable[[str], int]:
    """A reader of an integer in ``[low, high]`` (``_`` allowed as in Python) whose errors name the option."""

    def parse(text: str) -> int:
        try:
            value = int(text.replace("_", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be between {low:,} and {high:,}, got {value:,}")
        return value

    # argparse names the reader in the message of any error that is not an ArgumentTypeError
    parse.__name__ = name
    return parse


def _delimiter(text: str) -> str:
    """One character; a backslash and t (as a shell passes it) or "tab" for a tab."""
    delimiter = "\t" if text in ("\\t", "tab") else text
    if len(delimiter) != 1:
        raise argparse.ArgumentTypeError(f"delimiter must be one character (or \\t), got {text!r}")
    return delimiter


def _column_list(text: str) -> tuple[str, ...]:
    """The names in a comma-separated list, blanks dropped."""
    return tuple(name.strip() for name in text.split(",") if name.strip())


OPTIONS: tuple[Option, ...] = (
    Option(
        "source",
        Path,
        None,
        f"CSV or Parquet file to serve ({', '.join(SOURCE_SUFFIXES)}); "
        "default: synthetic standard normal points",
    ),
    Option(
        "delimiter",
        _delimiter,
        None,
        "the CSV file's delimiter, one character (default: found in its first lines: , ; tab or |)",
    ),
    Option("x", str, None, "column for the horizontal axis (default: 'x', or 'a' for synthetic data)"),
    Option("y", str, None, "column for the vertical axis (default: 'y', or 'b' for synthetic data)"),
    Option(
        "columns",
        _column_list,
        (),
        "comma-separated extra columns to load: numeric ones for sum/mean/min/max/std, text and "
        "boolean ones as categories for count by category",
    ),
    Option(
        "max_levels",
        _bounded_int("max-levels", 2, 256),
        DEFAULT_MAX_LEVELS,
        "most levels a text column keeps; the least frequent of the rest are read as "
        f"{OTHER_LEVEL!r} (default {{default}})",
    ),
    Option(
        "rows",
        _bounded_int("rows", 1, 2_000_000_000),
        70_000_000,
        "rows of synthetic data (default {default:,})",
    ),
    Option("seed", _bounded_int("seed", 0, 2**63 - 1), 0, "synthetic data seed"),
    Option("width", _bounded_int("width", 16, MAX_CANVAS_PIXELS), 800, "image width in pixels"),
    Option("height", _bounded_int("height", 16, MAX_CANVAS_PIXELS), 600, "image height in pixels"),
    Option(
        "cache_mb",
        _bounded_int("cache-mb", 0, 1 << 20),
        128,
        "memory for recent images shared by all viewers, in MiB (default {default})",
    ),
    Option("threads", _bounded_int("threads", 1, 256), 2, "threads per aggregation (default {default})"),
    Option(
        "index",
        None,
        True,
        switches=(Switch("--no-index", False, "scan every row for every image (for comparison)"),),
    ),
    Option(
        "cache_dir",
        Path,
        None,
        "folder for the columnar copy of the data that later loads and other processes map "
        "(default {default})",
        switches=(Switch("--no-cache", None, "read the source every time; write no columnar copy"),),
        default_factory=default_cache_dir,
    ),
    Option(
        "cache_dir_gb",
        _bounded_int("cache-dir-gb", 1, 1 << 20),
        32,
        "most GiB that the columnar copies in the cache folder take; the least recently used "
        "are removed first, never one that a running process maps (default {default})",
    ),
    Option(
        "min_count",
        _bounded_int("min-count", 0, 2**31 - 1),
        0,
        "leave empty every pixel made of fewer than K rows, so no image reveals a few "
        "individual rows (default {default}: show all)",
        metavar="K",
    ),
    Option(
        "backend",
        str,
        "pandas",
        "'pandas': indexed row ranges aggregated by this process's threads (default); "
        "'dask': Datashader's Dask path over partitions of the same rows",
        choices=BACKENDS,
    ),
    Option(
        "scheduler",
        str,
        None,
        "address of a Dask scheduler (tcp://HOST:PORT): aggregate on that cluster's workers, "
        "which map the rows from the cache folder (implies --backend dask)",
        metavar="ADDRESS",
    ),
)

OPTIONS_BY_NAME: Mapping[str, Option] = MappingProxyType({option.name: option for option in OPTIONS})
