"""The controls above the plot: the reduction and its column, the colour map and scale.

A new reduction or column is validated here and handed to the session, which aggregates again.
A new colour map or scale only changes the mappers the page already holds (``mapper.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline import REDUCTION_KINDS, Dataset, PipelineError, Reduction

from .document import PlotPage, select_options
from .mapper import COLORMAPS, NORMALIZATIONS


class ImageControls:
    """Watches a plot page's Selects; ``chosen`` gets each valid new reduction."""

    def __init__(
        self,
        page: PlotPage,
        dataset: Dataset,
        chosen: Callable[[Reduction], None],
        report: Callable[[str], None],
    ) -> None:
        self.page = page
        self.dataset = dataset
        self.chosen = chosen
        self.report = report
        self._adjusting_column = False
        for select in (page.reduction, page.column):
            select.on_change("value", self._on_reduction_changed)
        for select in (page.colormap, page.normalization):
            select.on_change("value", self._on_colours_changed)

    def _on_reduction_changed(self, attr: str, old: object, new: object) -> None:
        if self._adjusting_column:
            return
        name = self.page.reduction.value
        kind = REDUCTION_KINDS.get(name)
        needs_column = kind is not None and kind.needs_column
        if kind is not None and needs_column:
            self._offer_columns_of(name)
        if self.page.column.disabled == needs_column:  # a column to choose only where one is read
            self.page.column.disabled = not needs_column
        try:
            reduction = Reduction(name, self.page.column.value if needs_column else None)
            reduction.validate(self.dataset.frame.dtypes)
        except PipelineError as err:
            self.report(str(err))
            return
        self.chosen(reduction)

    def _offer_columns_of(self, name: str) -> None:
        """Offer the columns that the reduction ``name`` reads: categorical ones for
        ``count_by``, numeric ones for the others (``count`` keeps the last choice)."""
        columns = self.dataset.columns_of(REDUCTION_KINDS[name].column_kind)
        select = self.page.column
        if select.value in columns:
            return
        self._adjusting_column = True
        try:
            select.options = select_options(columns)
            select.value = columns[0] if columns else None
        finally:
            self._adjusting_column = False

    def _on_colours_changed(self, attr: str, old: object, new: object) -> None:
        page = self.page
        colormap, normalization = page.colormap.value, page.normalization.value
        if colormap not in COLORMAPS:
            self.report(f"unknown colour map {colormap!r}; expected one of {list(COLORMAPS)}")
            return
        if normalization not in NORMALIZATIONS:
            self.report(f"unknown normalisation {normalization!r}; expected one of {list(NORMALIZATIONS)}")
            return
        page.colours.choose(colormap, normalization)
        page.glyph.color_mapper = page.colours.mapper
        page.color_bar.color_mapper = page.colours.mapper
