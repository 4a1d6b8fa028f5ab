"""Server lifecycle: parse the app's options and fill the process-wide store, once per process.

Bokeh passes ``--args`` only while this module's body runs (as ``sys.argv``), so the options
are parsed here, at import; ``on_server_loaded`` then starts loading in the background, and
the server accepts viewers at once (they see the loading progress).
"""

from __future__ import annotations

import logging
import os
import sys

from bokeh.server.contexts import BokehServerContext, BokehSessionContext
from bokeh.server.views.ws import WSHandler

from pipeline import (
    get_store,
    map_large_allocations,
    parse_settings,
    release_freed_memory,
    stop_with_parent_process,
)

logger = logging.getLogger(__name__)
# Bokeh's log configuration shows its own INFO lines only; show the data loading ones too.
for name in ("pipeline", __name__.rpartition(".")[0] or __name__):
    logging.getLogger(name).setLevel(logging.INFO)

SETTINGS = parse_settings(sys.argv[1:])


def _send_websocket_frames_without_delay() -> None:
    """Turn off Nagle's algorithm on the server's websockets.

    An image update is several websocket frames (header, metadata, content, buffers);
    with Nagle's algorithm on, the later small frames wait for the client's delayed ACK,
    adding about 40 ms to every update. Bokeh exposes no option for this.
    """
    if getattr(WSHandler.open, "_without_delay", False):
        return
    open_websocket = WSHandler.open

    def open_without_delay(self: WSHandler) -> None:
        self.set_nodelay(True)
        open_websocket(self)

    open_without_delay._without_delay = True  # type: ignore[attr-defined]
    WSHandler.open = open_without_delay  # type: ignore[method-assign]


def on_server_loaded(server_context: BokehServerContext) -> None:
    """Start loading the data into this process's store (runs in each process)."""
    logger.info("starting with %s", SETTINGS)
    _send_websocket_frames_without_delay()
    if not map_large_allocations():
        logger.info("large allocations keep the C library's default placement (not glibc)")
    if stop_with_parent_process():
        logger.info("process %d of a --num-procs server: stops when the parent process does", os.getpid())
    get_store().start(SETTINGS)


def on_server_unloaded(server_context: BokehServerContext) -> None:
    """Release the data and the render threads.

    ``bokeh serve`` calls this as it stops, after Ctrl-C and after SIGTERM alike (its
    SIGTERM handler stops the event loop, then the server runs every unload hook).
    """
    get_store().close()
    release_freed_memory()
    logger.info("released the data and render threads")


def on_session_destroyed(session_context: BokehSessionContext) -> None:
    """A viewer left: its document is gone, so hand the freed pages back to the OS."""
    release_freed_memory()
