"""Statements every table's repository shares: insert once under a unique key, upsert, JSON-safe
values, and the errors a repository raises."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.errors import PermanentError


class InvalidTransition(PermanentError):
    """A split was asked to move backwards, or out of a final state."""

    reason = "invalid_split_transition"


class UnknownRecord(PermanentError):
    """The store, event or split named does not exist."""

    reason = "not_found"


def insert_ignoring_conflict(
    session: Session | Connection, table: Any, values: Mapping[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert one row and return its id, or None when `conflict` columns already hold it.

    One statement (`ON CONFLICT DO NOTHING`) on SQLite and PostgreSQL, so concurrent inserts
    of the same key never raise; other databases fall back to a savepoint.
    """
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = insert_statement(dialect, table, tuple(conflict))
        inserted: int | None = session.execute(statement, dict(values)).scalar_one_or_none()
        return inserted
    try:
        with session.begin_nested():
            new_id: int = session.execute(
                insert(table).values(**values).returning(table.c.id)
            ).scalar_one()
            return new_id
    except IntegrityError:
        return None


_INSERT_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def insert_statement(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    # Built once per table: values come as parameters, so the compiled form is reused.
    key = (dialect, table.name, conflict)
    statement = _INSERT_STATEMENTS.get(key)
    if statement is None:
        module = sqlite if dialect == "sqlite" else postgresql
        statement = (
            module.insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        _INSERT_STATEMENTS[key] = statement
    return statement


def upsert(
    session: Session, table: Any, values: Mapping[str, Any], conflict: Sequence[str]
) -> None:
    """Insert one row, or set its other columns to `values` when `conflict` columns already
    hold it: one statement (`ON CONFLICT DO UPDATE`), so two writers of the same key never
    fail on it (a select-then-insert does on PostgreSQL, where nothing serialises them)."""
    dialect = session.get_bind().dialect.name
    module = sqlite if dialect == "sqlite" else postgresql
    statement = module.insert(table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name not in conflict}
    session.execute(statement.on_conflict_do_update(index_elements=list(conflict), set_=changed))


def _json_default(item: Any) -> Any:
    if isinstance(item, Decimal):
        return str(item)
    if isinstance(item, dt.datetime | dt.date):
        return item.isoformat()
    if isinstance(item, set | frozenset | tuple):
        return sorted(item) if isinstance(item, set | frozenset) else list(item)
    raise TypeError(f"not JSON serialisable: {type(item).__name__}")


def json_safe(value: Any) -> Any:
    """Plain JSON types only: Decimal and dates become strings."""
    return json.loads(json_text(value))


def json_text(value: Any) -> str:
    """`value` as JSON text, Decimal and dates as strings: the engine's serializer of JSON
    columns (`Database`), so a value written to one needs no `json_safe` first; the text is
    the same as that of its `json_safe` form."""
    return json.dumps(value, default=_json_default)
