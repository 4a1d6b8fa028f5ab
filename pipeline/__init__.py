"""Load a table once per process, index it, and aggregate any viewport of it with Datashader.

The app and notebooks import from here only; see ``docs/architecture.md`` for which module owns
each step of the data path.
"""

from .aggregate import Aggregate, Backend, GridQuery, blank_sparse_pixels, compact_grid
from .backends import BACKENDS, BackendContext, open_backend
from .columnar_copy import CacheEntry, ColumnarCopies, default_cache_dir
from .dask_backend import DaskBackend
from .dataset import Dataset, LoadState, LoadStatus, home_viewport
from .errors import (
    CacheCorrupt,
    CanvasError,
    ClusterError,
    ColumnError,
    InputError,
    InvariantError,
    OptionError,
    PipelineError,
    ReductionError,
    ServiceError,
    SourceError,
    StoreError,
    ViewportError,
    WireError,
)
from .image_cache import ImageCache, ImageKey
from .index import SpatialIndex
from .memory import (
    anonymous_bytes,
    map_large_allocations,
    pss_bytes,
    release_freed_memory,
    rss_bytes,
    stop_with_parent_process,
)
from .packing import PACKABLE, PackedGrid, pack_grid, unpack_grid
from .reduction import REDUCTION_KINDS, ColumnKind, Reduction, ReductionKind, offered_kinds
from .row_ranges import RowRangeBackend
from .settings import Settings, parse_settings
from .shading import category_colors, shade_categories
from .sources import (
    SYNTHETIC_CATEGORIES,
    CsvSource,
    DataSource,
    ParquetSource,
    SyntheticSource,
    open_source,
)
from .store import DataStore, Rendered, get_store
from .table import PreparedTable, prepare_table
from .viewport import MAX_CANVAS_PIXELS, Canvas, Viewport

__all__ = [
    "BACKENDS",
    "MAX_CANVAS_PIXELS",
    "PACKABLE",
    "REDUCTION_KINDS",
    "SYNTHETIC_CATEGORIES",
    "Aggregate",
    "Backend",
    "BackendContext",
    "CacheCorrupt",
    "CacheEntry",
    "Canvas",
    "CanvasError",
    "ClusterError",
    "ColumnError",
    "ColumnKind",
    "ColumnarCopies",
    "CsvSource",
    "DaskBackend",
    "DataSource",
    "DataStore",
    "Dataset",
    "GridQuery",
    "ImageCache",
    "ImageKey",
    "InputError",
    "InvariantError",
    "LoadState",
    "LoadStatus",
    "OptionError",
    "PackedGrid",
    "ParquetSource",
    "PipelineError",
    "PreparedTable",
    "Reduction",
    "ReductionError",
    "ReductionKind",
    "Rendered",
    "RowRangeBackend",
    "ServiceError",
    "Settings",
    "SourceError",
    "SpatialIndex",
    "StoreError",
    "SyntheticSource",
    "Viewport",
    "ViewportError",
    "WireError",
    "anonymous_bytes",
    "blank_sparse_pixels",
    "category_colors",
    "compact_grid",
    "default_cache_dir",
    "get_store",
    "home_viewport",
    "map_large_allocations",
    "offered_kinds",
    "open_backend",
    "open_source",
    "pack_grid",
    "parse_settings",
    "prepare_table",
    "pss_bytes",
    "release_freed_memory",
    "rss_bytes",
    "shade_categories",
    "stop_with_parent_process",
    "unpack_grid",
]
