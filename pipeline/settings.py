"""The app's options, parsed from ``bokeh serve app --args ...`` into one value object."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OptionError
from .options import BACKENDS, OPTIONS, OPTIONS_BY_NAME
from .sources import DataSource, SyntheticSource, open_source

__all__ = ["BACKENDS", "DEFAULT_ROWS", "Settings", "parse_settings"]

DEFAULT_ROWS: int = OPTIONS_BY_NAME["rows"].default


def _scheduler_lacks_its_needs(scheduler: str | None, backend: str, cache_dir: Path | None) -> bool:
    """Whether a Dask scheduler is asked for without backend 'dask' or a cache folder for its workers."""
    # the workers map the rows from the cache folder; they cannot reach this process's frame
    return scheduler is not None and (backend != "dask" or cache_dir is None)


@dataclass(frozen=True)
class Settings:
    """Everything that shapes the process-wide data and its images."""

    source: Path | None = OPTIONS_BY_NAME["source"].default
    x: str | None = OPTIONS_BY_NAME["x"].default
    y: str | None = OPTIONS_BY_NAME["y"].default
    columns: tuple[str, ...] = OPTIONS_BY_NAME["columns"].default
    rows: int = DEFAULT_ROWS
    seed: int = OPTIONS_BY_NAME["seed"].default
    width: int = OPTIONS_BY_NAME["width"].default
    height: int = OPTIONS_BY_NAME["height"].default
    cache_mb: int = OPTIONS_BY_NAME["cache_mb"].default
    threads: int = OPTIONS_BY_NAME["threads"].default
    index: bool = OPTIONS_BY_NAME["index"].default
    # made per instance: the default folder follows $XDG_CACHE_HOME at the time
    cache_dir: Path | None = field(default_factory=OPTIONS_BY_NAME["cache_dir"].make_default)
    cache_dir_gb: int = OPTIONS_BY_NAME["cache_dir_gb"].default
    max_levels: int = OPTIONS_BY_NAME["max_levels"].default
    delimiter: str | None = OPTIONS_BY_NAME["delimiter"].default
    backend: str = OPTIONS_BY_NAME["backend"].default
    min_count: int = OPTIONS_BY_NAME["min_count"].default
    scheduler: str | None = OPTIONS_BY_NAME["scheduler"].default

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise OptionError(f"unknown backend {self.backend!r}; expected one of {list(BACKENDS)}")
        if _scheduler_lacks_its_needs(self.scheduler, self.backend, self.cache_dir):
            raise OptionError("a Dask scheduler needs backend='dask' and a cache folder for the workers")

    def make_source(self) -> DataSource:
        """The data source these settings describe (synthetic when no file is given)."""
        if self.source is None:
            return SyntheticSource(
                rows=self.rows, seed=self.seed, x=self.x or "a", y=self.y or "b", threads=self.threads
            )
        return open_source(
            self.source,
            x=self.x or "x",
            y=self.y or "y",
            extra_columns=self.columns,
            max_levels=self.max_levels,
            delimiter=self.delimiter,
        )


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser: one argument per option of the table, one more per switch."""
    parser = argparse.ArgumentParser(
        prog="bokeh serve app --args",
        description="Serve one shared table of points; every viewer gets Datashader images of it.",
    )
    for option in OPTIONS:
        default = option.make_default()
        if option.parse is not None:
            parser.add_argument(
                option.spelling,
                dest=option.name,
                type=option.parse,
                default=default,
                choices=option.choices or None,
                metavar=option.metavar,
                help=option.help_text(default),
            )
        for switch in option.switches:
            parser.add_argument(
                switch.spelling,
                dest=option.name,
                action="store_const",
                const=switch.value,
                default=default,
                help=switch.help,
            )
    return parser


def parse_settings(argv: Sequence[str]) -> Settings:
    """Parse app arguments; a bad option exits with a message that lists the valid ones."""
    parser = build_parser()
    namespace = parser.parse_args(list(argv))
    if namespace.scheduler is not None:
        namespace.backend = "dask"  # --scheduler implies --backend dask, so only --no-cache breaks the rule
    if _scheduler_lacks_its_needs(namespace.scheduler, namespace.backend, namespace.cache_dir):
        parser.error("--scheduler needs the cache folder: the workers read the rows from it; drop --no-cache")
    return Settings(**vars(namespace))
