"""The page's scripts (``app/js/<name>.js``), loaded one way and checked against their arguments.

Each script's first line declares the names the Python side gives it, in one comment line::

    // arguments: source, axis

:func:`custom_js` and :func:`custom_js_transform` build the Bokeh model that runs a script and
refuse arguments that differ from that line, so a renamed or forgotten argument fails where the
document is built, not as a ``ReferenceError`` in a viewer's browser. Names that BokehJS supplies
itself are not arguments, so they are not declared: ``cb_obj`` and ``cb_data`` in a ``CustomJS``
callback, ``xs`` in a ``CustomJSTransform``'s ``v_func``, ``tick``, ``index`` and ``ticks`` in a
``CustomJSTickFormatter``, and the page's global ``Bokeh``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bokeh.models.callbacks import CustomJS
from bokeh.models.formatters import CustomJSTickFormatter
from bokeh.models.transforms import CustomJSTransform

SCRIPTS_FOLDER = Path(__file__).resolve().parent / "js"
DECLARATION = re.compile(r"//\s*arguments:(?P<names>.*)")
IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


class ScriptError(ValueError):
    """A script that is missing, declares its arguments wrongly, or is given other arguments."""


def script_names() -> tuple[str, ...]:
    """The name of every script in ``app/js``, without its ``.js``, in order."""
    return tuple(sorted(path.stem for path in SCRIPTS_FOLDER.glob("*.js")))


@functools.cache
def script_code(name: str) -> str:
    """The whole text of ``app/js/<name>.js``, as the page runs it (read once per process)."""
    path = SCRIPTS_FOLDER / f"{name}.js"
    if not path.is_file():
        raise ScriptError(f"no script {name!r} in {SCRIPTS_FOLDER}; there are {list(script_names())}")
    return path.read_text(encoding="utf-8")


@functools.cache
def declared_arguments(name: str) -> tuple[str, ...]:
    """The argument names declared on the first line of ``app/js/<name>.js``, in their order."""
    first_line = script_code(name).partition("\n")[0].strip()
    declaration = DECLARATION.fullmatch(first_line)
    if declaration is None:
        raise ScriptError(
            f"script {name!r} does not begin with its '// arguments: a, b, ...' line; "
            f"it begins {first_line!r}"
        )
    names = tuple(part.strip() for part in declaration["names"].split(",") if part.strip())
    malformed = [part for part in names if not IDENTIFIER.fullmatch(part)]
    repeated = sorted({part for part in names if names.count(part) > 1})
    if malformed or repeated:
        raise ScriptError(
            f"script {name!r} declares malformed arguments {malformed} or repeats {repeated}: {first_line!r}"
        )
    return names


def checked_arguments(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """``args`` as a new dict, if its names are exactly those that script ``name`` declares."""
    declared = declared_arguments(name)
    missing = [argument for argument in declared if argument not in args]
    unexpected = sorted(set(args) - set(declared))
    if missing or unexpected:
        raise ScriptError(
            f"script {name!r} declares arguments {list(declared)}; missing {missing}, unexpected {unexpected}"
        )
    return dict(args)


def custom_js(name: str, args: Mapping[str, Any]) -> CustomJS:
    """A ``CustomJS`` callback that runs ``app/js/<name>.js`` with ``args``, as it declares them."""
    return CustomJS(args=checked_arguments(name, args), code=script_code(name))


def custom_js_tick_formatter(name: str, args: Mapping[str, Any]) -> CustomJSTickFormatter:
    """A ``CustomJSTickFormatter`` that runs ``app/js/<name>.js`` for each tick, with ``args``."""
    return CustomJSTickFormatter(args=checked_arguments(name, args), code=script_code(name))


def custom_js_transform(name: str, args: Mapping[str, Any]) -> CustomJSTransform:
    """A ``CustomJSTransform`` whose ``v_func`` is ``app/js/<name>.js``, with ``args`` as it declares them."""
    return CustomJSTransform(args=checked_arguments(name, args), v_func=script_code(name))
