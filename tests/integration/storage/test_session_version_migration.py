"""Revision 0004 (merchant session version) on a database that already has merchants."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.merchants import MerchantRepository


def test_existing_merchants_get_version_1_and_downgrade_drops_the_column(
    database_url: str,
) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    command.upgrade(config, "0003")
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO merchants (email, password_hash, created_at) "
            "VALUES ('old@example.com', 'x', '2026-01-01 00:00:00')"
        )
    database.migrate()
    merchant = MerchantRepository(database).by_email("old@example.com")
    assert merchant is not None and merchant.session_version == 1
    command.downgrade(config, "0003")
    columns = [column["name"] for column in inspect(database.engine).get_columns("merchants")]
    database.dispose()
    assert columns == ["id", "email", "password_hash", "created_at"]
