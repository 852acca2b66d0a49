"""The SQLite database and the instance folder are readable by their owner only (issue 13, 11:
the database file was created world-readable)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import utcnow
from plugin.config import Config


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common default umask (022): files world-readable unless made otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_sqlite_database_and_its_folder_are_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    folder = tmp_path / "instance"
    database = Database(f"sqlite:///{folder / 'backorders.db'}")
    try:
        database.migrate()
        with database.session(write=True) as session:
            session.execute(
                text(
                    "INSERT INTO merchants (email, password_hash, created_at, session_version) "
                    "VALUES ('a@example.com', 'x', :at, 1)"
                ),
                {"at": utcnow()},
            )
        files = sorted(p.name for p in folder.iterdir())
        assert "backorders.db-wal" in files
        assert mode(folder) == 0o700
        for name in files:
            assert mode(folder / name) == 0o600, name
    finally:
        database.dispose()


def test_an_existing_world_readable_database_file_is_made_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    tmp_path.chmod(0o755)
    path = tmp_path / "backorders.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    database = Database(f"sqlite:///{path}")
    database.dispose()
    assert mode(path) == 0o600
    assert mode(tmp_path) == 0o755  # an existing parent (maybe shared) is left alone


def test_the_development_instance_folder_is_created_and_kept_owner_only(
    tmp_path: Path, usual_umask: None
) -> None:
    home = tmp_path / "home"
    Config.from_env({"BACKORDERS_HOME": str(home), "DEVELOPMENT": "1"})
    assert (mode(home), mode(home / "secret_key")) == (0o700, 0o600)
    # A folder from before (0755) is tightened on the next start.
    home.chmod(0o755)
    (home / "secret_key").unlink()
    Config.from_env({"BACKORDERS_HOME": str(home), "DEVELOPMENT": "1"})
    assert mode(home) == 0o700


def sqlite_locks_of_this_process(path: Path) -> list[str]:
    """This process's POSIX locks on `path` (Linux /proc/locks: `... PID MAJ:MIN:INODE START
    END`), which SQLite takes on the database file for each open connection."""
    inode = f":{path.stat().st_ino} "
    with open("/proc/locks") as locks:
        return [
            line.split(maxsplit=1)[1]
            for line in locks
            if f" {os.getpid()} " in line and inode in line
        ]


def test_opening_the_database_again_keeps_the_locks_of_its_open_connections(
    tmp_path: Path,
) -> None:
    """Closing any descriptor of a file drops every POSIX lock the process holds on it: the
    second `Database` of a process (the worker's relay, a test beside the worker's runtime)
    made the first one's connections lose theirs, and another process then reset the WAL
    under them (https://sqlite.org/howtocorrupt.html, 2.2): a worker's commits were lost."""
    path = tmp_path / "backorders.db"
    first = Database(f"sqlite:///{path}")
    try:
        first.migrate()
        with first.engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM stores")).scalar_one()
            held = sqlite_locks_of_this_process(path)
            assert held  # SQLite's shared lock of an open WAL connection
            second = Database(f"sqlite:///{path}")
            assert sqlite_locks_of_this_process(path) == held
            second.dispose()
    finally:
        first.dispose()
