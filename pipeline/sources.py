"""Where rows come from: a documented base class and a small registry of sources.

Each source reads only the columns it is asked for and reports progress as it goes.
``x`` and ``y`` always come back as float64; other numeric columns keep their dtype.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import gzip
import hashlib
import json
import logging
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .column_types import DEFAULT_MAX_LEVELS, read_column
from .errors import ColumnError, SourceError

__all__ = [
    "SOURCE_SUFFIXES",
    "ArrowSource",
    "CsvSource",
    "DataSource",
    "ParquetDatasetSource",
    "ParquetSource",
    "ProgressCallback",
    "SyntheticSource",
    "open_source",
]

logger = logging.getLogger(__name__)

# Called with (rows read so far, fraction done in [0, 1]).
ProgressCallback = Callable[[int, float], None]

# Compass sectors of 90 degrees counter-clockwise from east, then the disc of radius 0.5.
SYNTHETIC_CATEGORIES = ("east", "north", "west", "south", "centre")
CENTRE_RADIUS = 0.5
SYNTHETIC_CHUNK_ROWS = 1 << 20
CSV_BLOCK_BYTES = 16 << 20  # bytes Arrow parses per block (and per thread)
SNIFF_BYTES = 64 << 10  # bytes of a CSV file read to find its header and delimiter
SNIFF_LINES = 20
DELIMITERS = ",;\t|"


def compass_codes(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """The index in :data:`SYNTHETIC_CATEGORIES` of each point (a to the east, b to the north)."""
    sector = np.floor((np.arctan2(b, a) + math.pi / 4) / (math.pi / 2)).astype(np.int8) % 4
    return np.where(np.hypot(a, b) < CENTRE_RADIUS, np.int8(4), sector).astype(np.int8)


def _ignore_progress(rows: int, fraction: float) -> None:
    """Default progress callback: report nothing."""


class DataSource(ABC):
    """A table of points: two coordinate columns plus optional extra columns.

    Subclasses implement :meth:`load`, which returns a pandas frame holding ``x``,
    ``y`` and ``extra_columns`` (in that order) and nothing else.
    """

    x: str
    y: str
    extra_columns: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.x, self.y, *(c for c in self.extra_columns if c not in (self.x, self.y)))

    @abstractmethod
    def describe(self) -> str:
        """A short human description, for logs and the loading page."""

    @abstractmethod
    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        """Read the rows, calling ``progress`` as they arrive."""

    @abstractmethod
    def identity(self) -> dict[str, object]:
        """What determines the rows :meth:`load` returns (JSON-serialisable).

        Two sources with equal identities load equal frames; a file's identity includes
        its size and modification time, so an edited file has a new one.
        """


@dataclass(frozen=True)
class SyntheticSource(DataSource):
    """Reproducible random points: ``a`` and ``b`` standard normal.

    Also a float32 ``value`` (exponential, so sums and means have something to show)
    and a categorical ``category`` (the compass sector of each point, plus a centre disc).
    Rows are drawn in fixed-size chunks, each from its own child of one seed, so the
    data depends only on ``rows`` and ``seed`` and chunks can be drawn in parallel.
    """

    rows: int = 70_000_000
    seed: int = 0
    x: str = "a"
    y: str = "b"
    extra_columns: tuple[str, ...] = ("value", "category")
    threads: int = 2

    def __post_init__(self) -> None:
        if self.rows < 1:
            raise SourceError(f"synthetic rows must be at least 1, got {self.rows!r}")
        if {self.x, self.y} != {"a", "b"}:
            raise ColumnError(
                f"synthetic data has columns ['a', 'b', 'category', 'value']; got x={self.x!r}, y={self.y!r}"
            )

    def describe(self) -> str:
        return f"synthetic standard normal points ({self.rows:,} rows, seed {self.seed})"

    def identity(self) -> dict[str, object]:
        return {
            "kind": "synthetic",
            "rows": self.rows,
            "seed": self.seed,
            "columns": list(self.columns),
            "categories": list(SYNTHETIC_CATEGORIES),
        }

    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        a = np.empty(self.rows, dtype=np.float64)
        b = np.empty(self.rows, dtype=np.float64)
        value = np.empty(self.rows, dtype=np.float32)
        codes = np.empty(self.rows, dtype=np.int8)
        starts = range(0, self.rows, SYNTHETIC_CHUNK_ROWS)
        seeds = np.random.SeedSequence(self.seed).spawn(len(starts))
        done = 0

        def fill(start: int, seed: np.random.SeedSequence) -> int:
            stop = min(start + SYNTHETIC_CHUNK_ROWS, self.rows)
            rng = np.random.default_rng(seed)
            rng.standard_normal(out=a[start:stop])
            rng.standard_normal(out=b[start:stop])
            rng.standard_exponential(out=value[start:stop], dtype=np.float32)
            codes[start:stop] = compass_codes(a[start:stop], b[start:stop])
            return stop - start

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for rows_filled in pool.map(fill, starts, seeds):
                done += rows_filled
                progress(done, done / self.rows)
        category = pd.Categorical.from_codes(codes, categories=list(SYNTHETIC_CATEGORIES))
        return pd.DataFrame({self.x: a, self.y: b, "value": value, "category": category}, copy=False)[
            list(self.columns)
        ]


def _check_columns(source: FileSource, available: Sequence[str]) -> None:
    missing = [c for c in source.columns if c not in available]
    if not missing:
        return
    hint = ""
    if len(available) == 1:  # a header of one column: the file may use another delimiter
        used = [d for d in DELIMITERS if d in available[0]]
        if used:
            hint = f"; the header is one column: is the delimiter {used[0]!r}? (--delimiter)"
    raise ColumnError(
        f"column {missing[0]!r} not found in {source.path}; columns are {list(available)}{hint}"
    )


def _to_frame(source: FileSource, table: pa.Table) -> pd.DataFrame:
    """Arrow table -> pandas frame: float64 coordinates, each other column read by its type
    (:func:`pipeline.column_types.read_column`: text and booleans become categories)."""
    if table.num_rows == 0:
        raise SourceError(f"{source.path} holds no rows")
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    for name in source.columns:
        if frame[name].isna().all():
            raise ColumnError(
                f"column {name!r} of {source.path} is empty in every one of its {len(frame):,} rows; "
                "leave it out or choose another"
            )
        read = read_column(name, frame[name], source.max_levels)
        if name in (source.x, source.y) and not _is_number(read.values):
            sample = frame[name].dropna().head(3).tolist()
            raise ColumnError(
                f"column {name!r} of {source.path} is not numeric (dtype {frame[name].dtype}, "
                f"values such as {sample!r}); choose a numeric column for x and y"
            )
        if read.note:
            logger.info("%s: %s", source.path, read.note)
        frame[name] = read.values.astype(np.float64) if name in (source.x, source.y) else read.values
    return frame[list(source.columns)]


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)


@dataclass(frozen=True)
class FileSource(DataSource):
    """A table in a file: the path plus the columns to read from it."""

    path: Path
    x: str
    y: str
    extra_columns: tuple[str, ...] = ()
    max_levels: int = DEFAULT_MAX_LEVELS  # a text column's levels, "other" included

    suffixes: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        if not self.path.is_file():
            raise SourceError(f"source file {str(self.path)!r} does not exist")

    def describe(self) -> str:
        return f"{self.path} (x={self.x!r}, y={self.y!r})"

    def identity(self) -> dict[str, object]:
        stat = self.path.stat()
        return {
            "kind": type(self).__name__,
            "path": str(self.path.resolve()),
            "bytes": stat.st_size,
            "modified_ns": stat.st_mtime_ns,
            "columns": list(self.columns),
            "max_levels": self.max_levels,
        }


@dataclass(frozen=True)
class CsvSource(FileSource):
    """A CSV file with a header row, parsed by Arrow's multi-threaded reader; plain, gzip or
    zstd compressed. Its delimiter is given, or found in its first lines (comma, semicolon,
    tab or bar)."""

    suffixes: ClassVar[tuple[str, ...]] = (".csv", ".csv.gz", ".csv.zst", ".tsv")
    delimiter: str | None = None

    def identity(self) -> dict[str, object]:
        return {**super().identity(), "delimiter": self.delimiter}

    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        total_bytes = max(self.path.stat().st_size, 1)
        _check_columns(self, self._header())
        # One reader per open file: Arrow reads ahead on its own threads, so a second reader
        # (or a seek) on the same file object would race with it.
        delimiter = self._delimiter()
        with open(self.path, "rb") as raw, self._decompressed(raw) as stream:
            batches = []
            rows = 0
            try:
                reader = pacsv.open_csv(
                    stream,
                    read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                    parse_options=pacsv.ParseOptions(delimiter=delimiter),
                    convert_options=pacsv.ConvertOptions(include_columns=list(self.columns)),
                )
                fraction = 0.0
                for batch in reader:
                    batches.append(batch)
                    rows += batch.num_rows
                    # A gzip reader may step back in the file at a member's end: never report less.
                    fraction = max(fraction, min(raw.tell() / total_bytes, 1.0))
                    progress(rows, fraction)
            except pa.ArrowInvalid as err:
                raise SourceError(f"{self.path} could not be parsed: {err}") from err
            progress(rows, 1.0)  # a compressed file's trailer may still be unread
            table = pa.Table.from_batches(batches, schema=reader.schema)
        return _to_frame(self, table)

    def _first_lines(self) -> list[str]:
        """The first lines of the file, decompressed and decoded."""
        with open(self.path, "rb") as raw, self._decompressed(raw) as stream:
            try:
                head = stream.read(SNIFF_BYTES).decode("utf-8-sig", errors="strict")
            except UnicodeDecodeError as err:
                if err.start < SNIFF_BYTES - 4:  # not a character cut at the end of the sample
                    line = err.object[: err.start].count(b"\n") + 1
                    raise SourceError(
                        f"{self.path} is not a readable CSV file: line {line} is not UTF-8 text "
                        f"(byte {err.object[err.start]:#04x} at byte {err.start:,} of the file)"
                    ) from err
                head = err.object[: err.start].decode("utf-8-sig")
            except (OSError, EOFError, pa.ArrowException) as err:
                raise SourceError(f"{self.path} is not a readable CSV file: {err}") from err
        return head.splitlines()[:SNIFF_LINES] if head.strip() else []

    def _delimiter(self) -> str:
        """The given delimiter, or the one the first lines use."""
        if self.delimiter is not None:
            return self.delimiter
        lines = self._first_lines()
        try:
            return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
        except csv.Error:  # one column, or no sample to judge by
            return "\t" if self.path.name.lower().endswith(".tsv") else ","

    def _header(self) -> list[str]:
        """The column names in the file's first line."""
        lines = self._first_lines()
        if not lines or not lines[0].strip():
            raise SourceError(f"{self.path} is not a readable CSV file: its first line (the header) is empty")
        return next(csv.reader([lines[0]], delimiter=self._delimiter()))

    def _decompressed(self, raw: BinaryIO) -> contextlib.AbstractContextManager[BinaryIO]:
        name = self.path.name.lower()
        if name.endswith(".gz"):
            return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
        if name.endswith(".zst"):
            return pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "zstd")  # type: ignore[no-any-return]
        return contextlib.nullcontext(raw)


@dataclass(frozen=True)
class ParquetSource(FileSource):
    """A Parquet file, read one row group at a time."""

    suffixes: ClassVar[tuple[str, ...]] = (".parquet", ".pq")

    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        try:
            parquet = pq.ParquetFile(self.path)
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"{self.path} is not a readable Parquet file: {err}") from err
        _check_columns(self, parquet.schema_arrow.names)
        total_rows = max(parquet.metadata.num_rows, 1)
        tables = []
        rows = 0
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group, columns=list(self.columns))
            tables.append(table)
            rows += table.num_rows
            progress(rows, rows / total_rows)
        if not tables:
            raise SourceError(f"{self.path} holds no rows")
        return _to_frame(self, pa.concat_tables(tables))


@dataclass(frozen=True)
class ArrowSource(FileSource):
    """An Arrow IPC file (Feather version 2), mapped and read one record batch at a time."""

    suffixes: ClassVar[tuple[str, ...]] = (".arrow", ".feather", ".ipc")

    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        try:
            reader = pa.ipc.open_file(pa.memory_map(str(self.path)))
        except (pa.ArrowInvalid, OSError) as err:
            raise SourceError(f"{self.path} is not a readable Arrow IPC (Feather) file: {err}") from err
        _check_columns(self, reader.schema.names)
        batches = []
        for number in range(reader.num_record_batches):
            batches.append(reader.get_batch(number).select(list(self.columns)))
            progress(sum(batch.num_rows for batch in batches), (number + 1) / reader.num_record_batches)
        if not batches:
            raise SourceError(f"{self.path} holds no rows")
        return _to_frame(self, pa.Table.from_batches(batches))


@dataclass(frozen=True)
class ParquetDatasetSource(FileSource):
    """A folder or a glob of Parquet files read as one table by pyarrow's dataset reader, batch by
    batch. In a hive-partitioned folder (``carrier=UA/part-0.parquet``) each key is a column."""

    def __post_init__(self) -> None:
        if not self.files():
            raise SourceError(f"no Parquet file in {str(self.path)!r}")

    def files(self) -> list[Path]:
        """The dataset's files, in a fixed order."""
        if self.path.is_dir():
            return sorted(path for path in self.path.rglob("*") if path.suffix in (".parquet", ".pq"))
        return sorted(Path(name) for name in glob.glob(str(self.path)) if Path(name).is_file())

    def identity(self) -> dict[str, object]:
        stats = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in self.files()]
        return {
            "kind": type(self).__name__,
            "path": str(self.path.resolve()) if self.path.exists() else str(self.path),
            "bytes": sum(size for _, size, _ in stats),
            "modified_ns": max(modified for _, _, modified in stats),
            "files": hashlib.sha256(json.dumps(stats).encode()).hexdigest(),
            "columns": list(self.columns),
            "max_levels": self.max_levels,
        }

    def load(self, progress: ProgressCallback = _ignore_progress) -> pd.DataFrame:
        try:
            if self.path.is_dir():
                dataset = pads.dataset(str(self.path), format="parquet", partitioning="hive")
            else:
                dataset = pads.dataset([str(path) for path in self.files()], format="parquet")
            _check_columns(self, dataset.schema.names)
            total_rows = max(dataset.count_rows(), 1)
            batches, rows = [], 0
            for batch in dataset.to_batches(columns=list(self.columns)):
                batches.append(batch)
                rows += batch.num_rows
                progress(rows, rows / total_rows)
            schema = pa.schema([dataset.schema.field(name) for name in self.columns])
            table = pa.Table.from_batches(batches, schema=schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as err:
            raise SourceError(
                f"the Parquet files of {str(self.path)!r} could not be read as one table: {err}"
            ) from err
        return _to_frame(self, table)


FILE_SOURCES: tuple[type[FileSource], ...] = (CsvSource, ParquetSource, ArrowSource)
SOURCE_SUFFIXES = tuple(s for kind in FILE_SOURCES for s in kind.suffixes)


def open_source(
    path: str | os.PathLike[str],
    *,
    x: str,
    y: str,
    extra_columns: Sequence[str] = (),
    max_levels: int = DEFAULT_MAX_LEVELS,
    delimiter: str | None = None,
) -> FileSource:
    """The file source for ``path``, chosen by its suffix (``delimiter``: a CSV file's)."""
    file_path = Path(path)
    name = file_path.name.lower()
    if file_path.is_dir() or glob.has_magic(str(file_path)):
        return ParquetDatasetSource(file_path, x, y, tuple(extra_columns), max_levels)
    for kind in FILE_SOURCES:
        if name.endswith(kind.suffixes):
            if kind is CsvSource:
                return CsvSource(file_path, x, y, tuple(extra_columns), max_levels, delimiter)
            return kind(path=file_path, x=x, y=y, extra_columns=tuple(extra_columns), max_levels=max_levels)
    raise SourceError(
        f"cannot tell the format of {str(file_path)!r}; expected a name ending in one of "
        f"{list(SOURCE_SUFFIXES)}"
    )
