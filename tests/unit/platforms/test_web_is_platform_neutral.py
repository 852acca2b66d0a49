"""web/ is platform-neutral (GUIDE.md, section 3): its pages reach a platform only through the
registry's drivers (plugin.ports), never a platform's own package, and no route, message or
name in its code is a platform's, except the WooCommerce page's (web/connect.py, PLATFORM)."""

from __future__ import annotations

import ast
from pathlib import Path

WEB = Path(__file__).resolve().parents[3] / "web"
PLATFORM_PACKAGES = ("plugin.platforms.shopify", "plugin.platforms.woocommerce", "webhooks.")


def imported_modules(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def code_strings(tree: ast.Module) -> list[str]:
    """String constants that are not docstrings."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_web_module_imports_a_platform_or_names_shopify() -> None:
    modules = sorted(WEB.glob("*.py"))
    assert len(modules) > 10
    for path in modules:
        tree = ast.parse(path.read_text(), filename=str(path))
        platform_imports = [
            name for name in imported_modules(tree) if name.startswith(PLATFORM_PACKAGES)
        ]
        assert platform_imports == [], path.name
        named = [text for text in code_strings(tree) if "shopify" in text.lower()]
        assert named == [], (path.name, named)
        assert "shopify" not in path.name
