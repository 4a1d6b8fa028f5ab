"""The exceptions of the pipeline: one base class, a specific leaf for each kind of bad input."""

from __future__ import annotations

__all__ = [
    "CanvasError",
    "ColumnError",
    "PipelineError",
    "ReductionError",
    "SourceError",
    "ViewportError",
]


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class SourceError(PipelineError):
    """A data source is missing, unreadable, or holds no usable rows."""


class ColumnError(SourceError):
    """A requested column does not exist in the source or has the wrong type."""


class ViewportError(PipelineError):
    """A requested viewport is not a finite, non-empty rectangle."""


class CanvasError(PipelineError):
    """A requested canvas size is outside the supported pixel range."""


class ReductionError(PipelineError):
    """A requested reduction or its column is unknown or unsuitable."""
