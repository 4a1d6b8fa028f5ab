"""Drive the app from outside: a ``bokeh serve`` subprocess and a threaded ``bokeh.client``.

Used by the tests and the benchmarks; loopback addresses only.
"""

from .client import AppClient, ImageUpdate
from .server import ServerProcess, free_port

__all__ = ["AppClient", "ImageUpdate", "ServerProcess", "free_port"]
