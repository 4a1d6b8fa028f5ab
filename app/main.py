"""One viewer's document: a Datashader image of the shared data that follows zoom and pan.

Run with ``bokeh serve app`` (see README). The data lives once per process in
``pipeline.get_store()``; this module only builds the session's page and wires it.
"""

from bokeh.io import curdoc

from .session import Session

Session(curdoc()).show()
