"""Storage knows the records of `plugin/ports.py`, never a use case: no module of
`plugin/adapters/sql` imports `plugin.usecases` (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports import imported_modules

SQL = Path(__file__).resolve().parents[4] / "plugin" / "adapters" / "sql"
MODULES = sorted(SQL.rglob("*.py"))


def test_the_check_sees_an_import_of_a_use_case() -> None:
    source = "from plugin.usecases.notifying import Message\nimport plugin.usecases.splitting\n"
    assert imported_modules(source) == {"plugin.usecases.notifying", "plugin.usecases.splitting"}


def test_there_are_storage_modules_to_check() -> None:
    assert {"stores.py", "inbox.py", "splits.py", "outbox.py", "releases.py"} <= {
        m.name for m in MODULES
    }


@pytest.mark.parametrize("module", MODULES, ids=lambda m: str(m.relative_to(SQL)))
def test_storage_imports_no_use_case(module: Path) -> None:
    use_cases = {
        name
        for name in imported_modules(module.read_text(encoding="utf-8"))
        if name == "plugin.usecases" or name.startswith("plugin.usecases.")
    }
    assert use_cases == set()
