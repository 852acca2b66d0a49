"""`DriverStatement`: a Core statement run on a DBAPI cursor, with SQLAlchemy's parameters."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from plugin.adapters.sql.db import DriverStatement
from plugin.adapters.sql.models import UtcDateTime

TABLE = Table(
    "things",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(20)),
    Column("seen_at", UtcDateTime()),
)
AT = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=dt.UTC)


class Cursor:
    """Records what the driver would be given."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def execute(self, sql: str, parameters: Any) -> None:
        self.calls.append((sql, parameters))


def test_sqlite_gets_positional_parameters_through_the_column_types() -> None:
    cursor = Cursor()
    statement = DriverStatement(TABLE.insert(), sqlite.dialect())
    assert statement.execute(cursor, {"name": "kettle", "seen_at": AT}) is cursor
    assert cursor.calls == [
        (
            "INSERT INTO things (name, seen_at) VALUES (?, ?)",
            ["kettle", "2026-03-01 10:00:00.000000"],  # SQLite's date text, as the ORM writes it
        )
    ]


def test_postgresql_gets_named_parameters() -> None:
    cursor = Cursor()
    query = select(TABLE.c.id).where(TABLE.c.name == bindparam("name"), TABLE.c.id > bindparam("n"))
    DriverStatement(query, postgresql.psycopg2.dialect()).execute(cursor, {"name": "mug", "n": 3})
    assert cursor.calls == [
        (
            "SELECT things.id \nFROM things \nWHERE things.name = %(name)s AND things.id > %(n)s",
            {"name": "mug", "n": 3},
        )
    ]


def test_each_set_of_names_is_compiled_for_itself() -> None:
    cursor = Cursor()
    statement = DriverStatement(TABLE.insert(), sqlite.dialect())
    statement.execute(cursor, {"name": "a"})
    statement.execute(cursor, {"id": 7, "name": "b"})
    statement.execute(cursor, {"name": "c"})
    assert cursor.calls == [
        ("INSERT INTO things (name) VALUES (?)", ["a"]),
        ("INSERT INTO things (id, name) VALUES (?, ?)", [7, "b"]),
        ("INSERT INTO things (name) VALUES (?)", ["c"]),
    ]


def test_a_plain_datetime_column_is_left_to_the_driver() -> None:
    table = Table("t", MetaData(), Column("at", DateTime()))
    cursor = Cursor()
    DriverStatement(table.insert(), postgresql.psycopg2.dialect()).execute(cursor, {"at": AT})
    assert cursor.calls == [("INSERT INTO t (at) VALUES (%(at)s)", {"at": AT})]


def test_literals_in_the_statement_take_their_own_values() -> None:
    cursor = Cursor()
    query = (
        select(TABLE.c.id)
        .where(TABLE.c.name == "pending")
        .order_by(TABLE.c.id)
        .limit(bindparam("limit"))
    )
    DriverStatement(query, sqlite.dialect()).execute(cursor, {"limit": 5})
    assert cursor.calls == [
        (
            "SELECT things.id \nFROM things \nWHERE things.name = ? ORDER BY things.id\n"
            " LIMIT ? OFFSET ?",
            ["pending", 5, 0],
        )
    ]
