"""Revision 0007 (e-mail verification) on a database that already has merchants and mail."""

from __future__ import annotations

from pathlib import Path

from alembic import command

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.outbox import OutboxRepository
from plugin.ports import Message


def test_existing_merchants_count_as_verified_and_account_mail_has_no_store(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = database.alembic_config()
    command.upgrade(config, "0006")
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO merchants (email, password_hash, created_at, session_version) "
            "VALUES ('old@example.com', 'x', '2026-01-01 00:00:00', 1)"
        )
    database.migrate()
    merchants = MerchantRepository(database)
    old = merchants.by_email("old@example.com")
    new = merchants.create("new@example.com", "y", verified=False)
    assert old is not None and old.email_verified is True  # signed up before links existed
    assert new is not None and new.email_verified is False
    outbox = OutboxRepository(database)
    message_id, created = outbox.add(
        Message(None, "account:verify_email:1", "verify_email", "new@example.com", "S", "B")
    )
    assert created and outbox.get(message_id).store_id is None  # type: ignore[union-attr]
    command.downgrade(config, "0006")
    with database.engine.connect() as connection:
        columns = [row[1] for row in connection.exec_driver_sql("PRAGMA table_info(merchants)")]
        left = connection.exec_driver_sql("SELECT count(*) FROM outbox_messages").scalar()
    database.dispose()
    assert columns == ["id", "email", "password_hash", "created_at", "session_version"]
    assert left == 0  # account mail has no place in the old table
