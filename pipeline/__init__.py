"""Load a table once per process, index it, and aggregate any viewport of it with Datashader."""

from .aggregate import Aggregate, Aggregator, compact_grid
from .cache import AggregateCache, CacheKey
from .errors import (
    CanvasError,
    ColumnError,
    PipelineError,
    ReductionError,
    SourceError,
    ViewportError,
)
from .index import SpatialIndex
from .reduction import Reduction
from .scheduling import LatestOnly
from .settings import Settings, parse_settings
from .sources import CsvSource, DataSource, ParquetSource, SyntheticSource, open_source
from .store import Dataset, DataStore, LoadState, LoadStatus, Rendered, get_store, home_viewport
from .viewport import Canvas, Viewport

__all__ = [
    "Aggregate",
    "AggregateCache",
    "Aggregator",
    "CacheKey",
    "Canvas",
    "CanvasError",
    "ColumnError",
    "CsvSource",
    "DataSource",
    "DataStore",
    "Dataset",
    "LatestOnly",
    "LoadState",
    "LoadStatus",
    "ParquetSource",
    "PipelineError",
    "Reduction",
    "ReductionError",
    "Rendered",
    "Settings",
    "SourceError",
    "SpatialIndex",
    "SyntheticSource",
    "Viewport",
    "ViewportError",
    "compact_grid",
    "get_store",
    "home_viewport",
    "open_source",
    "parse_settings",
]
