"""The pages a session shows before its plot: loading progress, and the error of a failed load."""

from __future__ import annotations

import html
from collections.abc import Callable

from bokeh.document import Document
from bokeh.models.widgets import Div
from bokeh.server.callbacks import PeriodicCallback

from pipeline import DataStore, LoadState, LoadStatus

LOADING_POLL = 200  # ms between progress updates on the loading page


def loading_text(status: LoadStatus) -> str:
    """The loading page's line: what is being loaded, how far, and a progress bar."""
    return (
        f"<b>Loading:</b> {html.escape(status.message())} "
        f"<progress max='1' value='{status.fraction:.3f}'></progress>"
    )


def failure_page(status: LoadStatus) -> Div:
    """The page of a load that failed: its error, as the log has it."""
    return Div(
        name="error",
        text=f"<h3>The data could not be loaded</h3><pre>{html.escape(status.error or '')}</pre>",
    )


class LoadingPage:
    """Progress in ``doc`` until the store's load ends, then ``ended`` (ready or failed) runs."""

    def __init__(self, doc: Document, store: DataStore, ended: Callable[[LoadState], None]) -> None:
        self.doc = doc
        self.store = store
        self.ended = ended
        self.div = Div(name="loading", text="Starting...")
        doc.add_root(self.div)
        self._poll: PeriodicCallback | None = doc.add_periodic_callback(self.update, LOADING_POLL)
        self.update()

    def update(self) -> None:
        status = self.store.status()
        if status.state is LoadState.LOADING or status.state is LoadState.IDLE:
            self.div.text = loading_text(status)
            return
        if self._poll is not None:
            self.doc.remove_periodic_callback(self._poll)
            self._poll = None
        self.doc.remove_root(self.div)
        self.ended(status.state)
