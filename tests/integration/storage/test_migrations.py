from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Base


def test_migrated_schema_matches_models_exactly(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_migration_creates_every_table(db: Database) -> None:
    tables = set(inspect(db.engine).get_table_names())
    assert tables == {
        "alembic_version",
        "stores",
        "inbox_events",
        "splits",
        "audit_entries",
        "alerts",
        "product_policies",
        "customer_policies",
        "releases",
        "release_bumps",
        "merchants",
        "outbox_messages",
        "cancellations",
        "suppliers",
        "supplier_products",
        "purchase_orders",
        "purchase_order_lines",
        "purchase_reservations",
        "purchase_receipts",
        "customer_links",
        "self_service_settings",
        "customer_requests",
        "delay_watches",
        "delay_actions",
        "reorder_points",
    }


def test_migrate_twice_is_harmless(database_url: str) -> None:
    database = Database(database_url)
    database.migrate()
    database.migrate()
    with database.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    database.dispose()
    assert version == [("0014",)]


def test_every_migration_downgrades_to_nothing_and_upgrades_again(database_url: str) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    command.downgrade(config, "base")
    left = set(inspect(database.engine).get_table_names())
    database.migrate()
    tables = set(inspect(database.engine).get_table_names())
    database.dispose()
    assert left == {"alembic_version"}
    assert len(tables) == 25


def test_sqlite_runs_in_wal_mode_in_a_folder_created_for_it(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'again.db'}")
    database.migrate()
    with database.engine.connect() as connection:
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    database.dispose()
    assert (mode, timeout) == ("wal", 30000)


def test_the_comparison_sees_a_drift(db: Database) -> None:
    # Guards the first test: a column missing from the migration must show up as a diff.
    from sqlalchemy import Column, Integer, MetaData, Table

    drifted = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    Table("stores", drifted, Column("extra", Integer), extend_existing=True)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, drifted)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "extra")]


def test_0010_adds_the_units_to_cancel_and_its_downgrade_removes_them(database_url: str) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    columns = {c["name"] for c in inspect(database.engine).get_columns("cancellations")}
    command.downgrade(config, "0009")
    before = {c["name"] for c in inspect(database.engine).get_columns("cancellations")}
    database.migrate()
    again = {c["name"] for c in inspect(database.engine).get_columns("cancellations")}
    database.dispose()
    assert "units" in columns and "quantity" in columns
    assert before == columns - {"units"}
    assert again == columns


def test_0011_adds_the_named_products_to_the_inbox_and_its_downgrade_removes_them(
    database_url: str,
) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    columns = {c["name"] for c in inspect(database.engine).get_columns("inbox_events")}
    command.downgrade(config, "0010")
    before = {c["name"] for c in inspect(database.engine).get_columns("inbox_events")}
    database.migrate()
    again = {c["name"] for c in inspect(database.engine).get_columns("inbox_events")}
    database.dispose()
    assert "products" in columns and "dedupe_key" in columns
    assert before == columns - {"products"}
    assert again == columns


def test_0012_adds_reorder_points_and_its_downgrade_removes_them(database_url: str) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    columns = {c["name"] for c in inspect(database.engine).get_columns("reorder_points")}
    command.downgrade(config, "0011")
    before = set(inspect(database.engine).get_table_names())
    database.migrate()
    again = set(inspect(database.engine).get_table_names())
    database.dispose()
    assert columns == {"id", "store_id", "product_id", "variant_id", "reorder_point", "order_up_to"}
    assert "reorder_points" not in before
    assert again == before | {"reorder_points"}


def test_0013_adds_the_payment_expiry_columns_and_its_downgrade_removes_them(
    database_url: str,
) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    columns = {c["name"] for c in inspect(database.engine).get_columns("splits")}
    command.downgrade(config, "0012")
    before = {c["name"] for c in inspect(database.engine).get_columns("splits")}
    database.migrate()
    again = {c["name"] for c in inspect(database.engine).get_columns("splits")}
    database.dispose()
    assert before == columns - {"payment_expires_at", "expiry_warned_at"}
    assert {"payment_expires_at", "expiry_warned_at"} <= columns
    assert again == columns


def test_0014_adds_the_queued_outbox_index_and_its_downgrade_removes_it(
    database_url: str,
) -> None:
    database = Database(database_url)
    config = database.alembic_config()
    database.migrate()
    indexes = {i["name"]: i["column_names"] for i in inspect(database.engine).get_indexes(
        "outbox_messages")}  # fmt: skip
    command.downgrade(config, "0013")
    before = {i["name"] for i in inspect(database.engine).get_indexes("outbox_messages")}
    database.migrate()
    again = {i["name"] for i in inspect(database.engine).get_indexes("outbox_messages")}
    database.dispose()
    assert indexes["ix_outbox_messages_status_created_at"] == ["status", "created_at"]
    assert before == set(indexes) - {"ix_outbox_messages_status_created_at"}
    assert again == set(indexes)
