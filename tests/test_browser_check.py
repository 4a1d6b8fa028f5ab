"""Whether a browser can run here is decided by launching one, not by a path existing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import browser


@pytest.fixture
def fresh_check(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    browser.browser_problem.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    browser.browser_problem.cache_clear()


def test_a_missing_browser_is_named(fresh_check: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fresh_check.setattr(browser, "CHROMIUM", str(tmp_path / "chromium"))
    assert browser.browser_problem() == f"no Chromium at {tmp_path / 'chromium'} (apt-get install chromium)"


def test_a_browser_that_cannot_start_is_named(fresh_check: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'error while loading shared libraries' >&2\nexit 127\n")
    broken.chmod(0o755)
    fresh_check.setattr(browser, "CHROMIUM", str(broken))
    problem = browser.browser_problem()
    assert problem is not None and problem.startswith(f"Chromium at {broken} cannot be launched: ")
