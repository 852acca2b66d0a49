"""What a module imports, read from its source: the dependency rules' tests share it."""

from __future__ import annotations

import ast


def imported_modules(source: str) -> set[str]:
    """Every module `source` imports absolutely, at any depth (imports inside functions too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found
