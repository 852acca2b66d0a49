"""Alembic environment: the engine comes from the `Database` that runs the migration."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Base

config = context.config
_LOCK_KEY = 0x6B6F7264  # any constant shared by every process migrating this database
target_metadata = Base.metadata


def _database() -> Database:
    database: Database | None = config.attributes.get("database")
    if database is None:
        # Command-line use (`alembic -x url=... upgrade head`) without a Database object.
        url = context.get_x_argument(as_dictionary=True).get("url")
        if not url:
            raise SystemExit("pass the database URL: alembic -x url=sqlite:///... upgrade head")
        database = Database(url)
    return database


def run_migrations_offline() -> None:
    url = context.get_x_argument(as_dictionary=True).get("url") or _database().url
    context.configure(url=url, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    database = _database()
    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things in place
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Held to the end of the transaction; the version is read after it is taken.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
