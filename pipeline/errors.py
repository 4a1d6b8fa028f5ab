"""Every error the pipeline raises on purpose, in one tree.

::

    PipelineError            raised on purpose by the pipeline
    ├── InputError           bad input: its message is shown to whoever gave it; the server goes on
    │   ├── SourceError      a source is missing, unreadable or holds no usable rows
    │   │   └── ColumnError  a column does not exist in the source or has the wrong type
    │   ├── OptionError      options that name an unknown value or contradict each other
    │   ├── ViewportError    a view that is not a finite, non-empty rectangle
    │   ├── CanvasError      a canvas size outside the supported pixel range
    │   ├── ReductionError   an unknown reduction, or a column it cannot read
    │   └── WireError        packed grid bytes that do not match the grid they claim to be
    ├── ServiceError         the request was fine, the service cannot answer it now
    │   ├── StoreError       the store is not ready, holds other data, or has shut down
    │   ├── CacheCorrupt     a columnar copy on disk does not match its manifest (it is rebuilt)
    │   └── ClusterError     the Dask cluster is unreachable or failed to compute an image
    └── InvariantError       a broken invariant inside the pipeline: a bug, logged with its traceback

Messages name the value received and what would be valid. Third-party errors are translated
at the boundary (``raise ... from err``). An :class:`InvariantError`, like any exception
outside this tree, is a bug: the app logs it as one and never words it as the viewer's mistake.
"""

from __future__ import annotations

__all__ = [
    "CacheCorrupt",
    "CanvasError",
    "ClusterError",
    "ColumnError",
    "InputError",
    "InvariantError",
    "OptionError",
    "PipelineError",
    "ReductionError",
    "ServiceError",
    "SourceError",
    "StoreError",
    "ViewportError",
    "WireError",
]


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class InputError(PipelineError):
    """Bad input from a viewer, a file or an option; its message says what would be valid."""


class SourceError(InputError):
    """A data source is missing, unreadable, or holds no usable rows."""


class ColumnError(SourceError):
    """A requested column does not exist in the source or has the wrong type."""


class OptionError(InputError):
    """An option names an unknown value, or options contradict each other."""


class ViewportError(InputError):
    """A requested viewport is not a finite, non-empty rectangle."""


class CanvasError(InputError):
    """A requested canvas size is outside the supported pixel range."""


class ReductionError(InputError):
    """A requested reduction or its column is unknown or unsuitable."""


class WireError(InputError):
    """Packed grid bytes do not match the shape and dtype they claim."""


class ServiceError(PipelineError):
    """A valid request that the service cannot answer now."""


class StoreError(ServiceError):
    """The store is not ready, already holds other data, or has shut down."""


class CacheCorrupt(ServiceError):
    """A cache entry on disk does not match its manifest (truncated, damaged or half-written)."""


class ClusterError(ServiceError):
    """The Dask cluster could not be reached or failed to compute an image."""


class InvariantError(PipelineError):
    """An invariant inside the pipeline does not hold: a bug, not bad input."""
