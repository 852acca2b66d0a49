"""The dependency rule of ../shared/GUIDE.md, section 3: a use case imports the core, the ports
(`plugin/ports.py`, `plugin/errors.py`, `plugin/steps.py`) and other use cases, never an
adapter, a platform, the bootstrap or a framework (issue 17). The rule is read from each module's
source, imports inside functions included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports import imported_modules

USECASES = Path(__file__).resolve().parents[3] / "plugin" / "usecases"
MODULES = sorted(USECASES.glob("*.py"))
ALLOWED = ("plugin.core", "plugin.ports", "plugin.errors", "plugin.steps", "plugin.usecases")
FRAMEWORKS = ("flask", "rq", "sqlalchemy", "requests", "jinja2", "redis")


def forbidden(module: Path) -> set[str]:
    names = imported_modules(module.read_text(encoding="utf-8"))
    return {
        name
        for name in names
        if (name.startswith("plugin") and not name.startswith(ALLOWED))
        or name.split(".")[0] in FRAMEWORKS
        or name in ("app", "worker", "run")
    }


def test_the_check_sees_adapters_platforms_and_frameworks(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text(
        "from plugin.core.model import Order\nfrom plugin.ports import Platform\n"
        "def late():\n    from plugin.platforms.woocommerce.adapter import WooCommercePlatform\n"
        "import sqlalchemy\nfrom plugin import bootstrap\nimport worker\n",
        encoding="utf-8",
    )
    assert forbidden(module) == {
        "plugin.platforms.woocommerce.adapter",
        "sqlalchemy",
        "plugin",
        "worker",
    }


def test_there_are_use_cases_to_check() -> None:
    assert {"splitting.py", "releasing.py", "purchasing.py", "accounts.py"} <= {
        m.name for m in MODULES
    }


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_a_use_case_imports_the_core_and_the_ports_only(module: Path) -> None:
    assert forbidden(module) == set()
