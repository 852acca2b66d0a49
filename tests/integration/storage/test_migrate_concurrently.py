from __future__ import annotations

import multiprocessing

from sqlalchemy import inspect

from plugin.adapters.sql.db import Database

HEAD = "0014"  # the newest migration (tests/integration/storage/test_migrations.py checks it)


def _migrate(url: str) -> None:
    database = Database(url)
    database.migrate()
    database.dispose()


def test_processes_starting_together_migrate_once(database_url: str) -> None:
    # SQLite: the writer lock file; PostgreSQL: an advisory lock (migrations/env.py).
    url = database_url
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_migrate, args=(url,)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        tables = inspect(database.engine).get_table_names()
    finally:
        database.dispose()  # no pooled connection left for the garbage collector to close
    assert versions == [(HEAD,)]
    assert "inbox_events" in tables
