"""Bokeh reads server lifecycle hooks only from a file of this name; they live in hooks.py."""

from .hooks import on_server_loaded, on_server_unloaded, on_session_destroyed

__all__ = ["on_server_loaded", "on_server_unloaded", "on_session_destroyed"]
