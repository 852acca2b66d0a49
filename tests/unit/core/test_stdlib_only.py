"""`plugin/core` is the pure domain: it imports the standard library and itself, nothing else."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[3] / "plugin" / "core"
MODULES = sorted(CORE.glob("*.py"))


def imported_roots(source: str) -> set[str]:
    """Top-level names of every module `source` imports (absolute imports only)."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def foreign_imports(source: str) -> set[str]:
    """Imports of `source` that are neither the standard library nor `plugin.core`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            root = name.split(".")[0]
            if root in sys.stdlib_module_names or root == "__future__":
                continue
            if name == "plugin.core" or name.startswith("plugin.core."):
                continue
            found.add(name)
    return found


def test_core_modules_are_found() -> None:
    assert {"model.py", "rules.py", "split.py", "serialize.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_core_module_imports_only_the_standard_library(module: Path) -> None:
    assert foreign_imports(module.read_text(encoding="utf-8")) == set()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import requests", {"requests"}),
        ("from flask import Flask", {"flask"}),
        ("import os, sqlalchemy.orm", {"sqlalchemy.orm"}),
        ("from plugin.platforms import woocommerce", {"plugin.platforms"}),
        ("import plugin.adapters.sql", {"plugin.adapters.sql"}),
        ("def f():\n    import hypothesis", {"hypothesis"}),
        ("from decimal import Decimal\nfrom plugin.core.model import Order", set()),
        ("from __future__ import annotations\nimport datetime as dt", set()),
    ],
)
def test_the_import_check_itself_catches_foreign_imports(source: str, expected: set[str]) -> None:
    assert foreign_imports(source) == expected
