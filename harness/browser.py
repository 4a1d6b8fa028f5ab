"""Debian's Chromium, headless, driven by Playwright (no browser download is involved)."""

from __future__ import annotations

import functools
import os
import shutil
from typing import Any

__all__ = ["CHROMIUM", "CHROMIUM_FLAGS", "browser_problem", "launch_chromium"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# A closed network: no background services, no QUIC, no first-run work; root needs --no-sandbox.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Chromium browser from a running ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)


@functools.cache
def browser_problem() -> str | None:
    """Why no headless Chromium can be launched on this machine, or None if one can.

    Decided by launching one (once per process): a path that exists says nothing about a
    browser that lacks its libraries or cannot start in this sandbox.
    """
    if not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        from playwright.sync_api import Error, sync_playwright

        with sync_playwright() as playwright:
            launch_chromium(playwright).close()
    except (ImportError, Error, OSError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"Chromium at {CHROMIUM} cannot be launched: {first_line}"
    return None
