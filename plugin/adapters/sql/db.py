"""`Database(url)`: engine, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from plugin.adapters.files import private_file, private_folder
from plugin.adapters.sql.statements import json_text

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
# Our own checkpoint keeps the WAL short; SQLite's automatic one (at a larger size) stays as a
# safety net for writers that do not use `write=True`.
CHECKPOINT_EVERY_WRITES = 200
SQLITE_AUTOCHECKPOINT_PAGES = 8000


class Database:
    """One engine per process; `session()` is a unit of work, `migrate()` upgrades the schema."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        # JSON columns take Decimal and dates as their text (`json_text`): the audit trail's
        # entries go in as they are, without a JSON round trip each first.
        kwargs: dict[str, Any] = {"echo": echo, "future": True, "json_serializer": json_text}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                database_file = Path(parsed.database)
                private_folder(database_file.parent)
                private_file(database_file)  # before SQLite creates it with the umask's mode
            # The web process and every worker open the same file: wait for a lock instead of
            # failing at once (sqlite3 `timeout` is SQLite's busy timeout).
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_S}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _configure_sqlite)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_lock: WriteLock | None = None
        self._checkpoint_lock = threading.Lock()
        self._writes_since_checkpoint = 0
        self._together = threading.local()  # the connection of this thread's `together()`
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self._write_lock = WriteLock(Path(str(parsed.database)).with_suffix(".writelock"))

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.

        `write=True` (SQLite file): writers of every process (web threads, workers) take turns
        on one lock file, and wake as soon as it is free, instead of meeting SQLite's busy
        handler, which polls in sleeps of up to 100 ms. Other writes still work, through the
        busy timeout. Keep write sessions short: never call a platform inside one.
        """
        with self._writing(write):
            session = self._sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """A Core connection inside one transaction, without the ORM (for hot paths). Inside
        `together()` on this thread it is that block's connection and commits with it."""
        joined: Connection | None = getattr(self._together, "connection", None)
        if joined is not None:
            yield joined
            return
        with self._writing(write), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def together(self) -> Iterator[None]:
        """One write transaction for every `transaction()` this thread opens in the block: their
        writes commit together when it ends, or none do when it raises (a step's ledger record
        and its audit entry, plugin/steps.py). A block inside another joins the outer one.
        Only `transaction()` joins: an ORM `session(write=True)` in the block would wait on the
        block's own lock (SQLite), so none may be used there."""
        if getattr(self._together, "connection", None) is not None:
            yield
            return
        with self.transaction(write=True) as connection:
            self._together.connection = connection
            try:
                yield
            finally:
                self._together.connection = None

    @contextmanager
    def driver_cursor(self, *, write: bool = False) -> Iterator[Any]:
        """A DBAPI cursor inside one transaction, for `DriverStatement`s: the webhook's hot path,
        where SQLAlchemy's per-statement bookkeeping cost more CPU than the database's work.
        Driver errors are raised as SQLAlchemy's (`DBAPIError` and its subclasses)."""
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        with self._writing(write):
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                try:
                    yield cursor
                    connection.commit()
                except BaseException:
                    connection.rollback()
                    raise
                finally:
                    cursor.close()
            except dbapi_error as error:
                raise DBAPIError.instance(None, None, error, dbapi_error) from error
            finally:
                connection.close()  # back to the pool

    @contextmanager
    def _writing(self, write: bool) -> Iterator[None]:
        """Around one unit of work: with `write`, the writer lock while it runs (SQLite file)
        and a checkpoint look once it has committed and let go of the lock."""
        with self._write_lock if write and self._write_lock is not None else nullcontext():
            yield
        if write:
            self._after_write()

    def _after_write(self) -> None:
        # SQLite's automatic checkpoint runs inside a commit, i.e. while this process holds
        # the writer lock, so every other writer would wait for its fsyncs. Checkpoint here
        # instead, after the lock is released: PASSIVE never blocks readers or writers.
        if self._write_lock is None:
            return
        with self._checkpoint_lock:
            self._writes_since_checkpoint += 1
            if self._writes_since_checkpoint < CHECKPOINT_EVERY_WRITES:
                return
            self._writes_since_checkpoint = 0
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception as error:  # a missed checkpoint is harmless: the next one catches up
            logger.warning("event=wal_checkpoint_failed error=%s", type(error).__name__)

    def migrate(self) -> None:
        """Upgrade the schema to the newest Alembic revision (safe to call on every start)."""
        from alembic import command

        # Web and worker processes may start together: one migrates, the others then find the
        # schema at head (SQLite: the writer lock; PostgreSQL: an advisory lock in env.py).
        with self._write_lock if self._write_lock is not None else nullcontext():
            command.upgrade(self.alembic_config(), "head")

    def alembic_config(self) -> Any:
        """An Alembic Config for this database; `env.py` takes its engine from it."""
        from alembic.config import Config as AlembicConfig

        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["database"] = self
        return config

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        from sqlalchemy import text

        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close pooled connections (call after fork, and when done)."""
        self.engine.dispose()


class DriverStatement:
    """A Core statement compiled for a dialect, run on a `Database.driver_cursor`.

    Compiled once per process for each dialect and set of value names (an INSERT's columns are
    the names given), kept in `_COMPILED` so that repositories made per call, as the relay's
    are, do not compile again. A parameter not among the values takes the statement's own (a
    literal such as `status == "pending"`).
    Parameters go through their column types' bind processors, as SQLAlchemy's own execution
    does (our UTC datetimes, SQLite's date text), in the order or by the names the driver's
    paramstyle wants.
    """

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        self.statement = statement
        self.dialect = dialect

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        """Run on `cursor` with `values` (by name); returns the cursor for fetching."""
        keys = tuple(values)
        cache_key = (self.statement, self.dialect.name, self.dialect.driver, keys)
        compiled = _COMPILED.get(cache_key)
        if compiled is None:
            compiled = _COMPILED[cache_key] = _Compiled(self.statement, self.dialect, keys)
        given = {**compiled.literals, **values}
        processors = compiled.processors
        processed = {
            name: processors[name](given[name]) if name in processors else given[name]
            for name in compiled.names
        }
        if compiled.positional:
            cursor.execute(compiled.sql, [processed[name] for name in compiled.names])
        else:
            cursor.execute(compiled.sql, processed)
        return cursor


class _Compiled:
    """A statement's SQL, parameter order, literals and bind processors for one dialect."""

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        self.sql: str = compiled.string
        self.positional: bool = compiled.positional
        names = compiled.positiontup if compiled.positional else compiled.bind_names.values()
        self.names: tuple[str, ...] = tuple(names or ())
        binds = {name: bind for bind, name in compiled.bind_names.items()}
        self.literals = {
            name: binds[name].effective_value
            for name in self.names
            if name not in keys and binds[name].value is not None
        }
        self.processors = {
            name: processor
            for name in self.names
            if (processor := binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            is not None
        }


# (statement, dialect name, driver, value names) → its compiled form; statements are module
# constants, so this holds a handful of entries.
_COMPILED: dict[tuple[Any, str, str, tuple[str, ...]], _Compiled] = {}


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers (web) run while a writer (worker) commits; NORMAL sync is durable
    # across process crashes in WAL mode and avoids an fsync per commit.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


class WriteLock:
    """A process-shared writer lock: a thread mutex plus `flock` on a file, re-entrant per
    thread. flock is released by the kernel if the holder dies, so a crash cannot wedge it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.RLock()
        self._depth = threading.local()
        self._fd: int | None = None
        self._fd_pid = 0

    def __enter__(self) -> None:
        self._mutex.acquire()
        depth = getattr(self._depth, "value", 0)
        if depth == 0:
            try:
                fcntl.flock(self._file(), fcntl.LOCK_EX)
            except BaseException:
                self._mutex.release()
                raise
        self._depth.value = depth + 1

    def __exit__(self, *exc: object) -> None:
        self._depth.value -= 1
        try:
            if self._depth.value == 0:
                fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    def _file(self) -> int:
        # A descriptor per process: after fork the child must not share the parent's lock.
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd
