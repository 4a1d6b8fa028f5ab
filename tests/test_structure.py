"""Meta-tests that keep the structure honest: the pipeline's public boundary and the size of its parts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 80


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).glob("*.py"))


def imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports by absolute name."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("path", modules("app"), ids=lambda path: path.name)
def test_the_app_imports_only_what_the_pipeline_exports(path: Path) -> None:
    inner = [name for name in imported_modules(path) if name.startswith("pipeline.")]
    assert inner == [], f"{path.name} imports {inner}; import from pipeline (its __all__) instead"


@pytest.mark.parametrize("path", modules("pipeline"), ids=lambda path: path.name)
def test_the_pipeline_knows_nothing_of_sessions(path: Path) -> None:
    sessions = [name for name in imported_modules(path) if name.startswith(("bokeh", "app"))]
    assert sessions == [], f"{path.name} imports {sessions}"


def long_definitions(path: Path) -> list[str]:
    too_long = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > limit:
                too_long.append(f"{node.name}: {lines} lines (at most {limit})")
    return too_long


@pytest.mark.parametrize(
    "path", modules("app") + modules("pipeline"), ids=lambda path: path.parent.name + "/" + path.name
)
def test_each_class_and_function_can_be_read_in_one_sitting(path: Path) -> None:
    assert long_definitions(path) == []


def test_the_size_check_sees_a_long_function(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("def f():\n" + "    x = 1\n" * MAX_FUNCTION_LINES)
    assert long_definitions(long) == [f"f: {MAX_FUNCTION_LINES + 1} lines (at most {MAX_FUNCTION_LINES})"]
