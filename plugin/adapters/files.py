"""Files and folders of an instance that only the user running it may read: the SQLite
database (store keys are encrypted in it, but not orders, customers and merchants), the
instance folder with the embedded Redis data and the development SECRET_KEY."""

from __future__ import annotations

import os
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path, *, tighten: bool = False) -> Path:
    """Create `path` (owner-only; missing parents too) unless it exists. `tighten` also takes
    group and other access away from an existing folder: only for folders that are ours
    alone, like BACKORDERS_HOME, never a shared parent such as /tmp."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    if tighten and path.stat().st_mode & 0o077:
        path.chmod(FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty and owner-only unless it exists; an existing one loses group and
    other access (it is ours: SQLite gives its -wal and -shm files the same mode).

    An existing file is never opened: closing any descriptor of a file drops every POSIX lock
    this process holds on it, so a second `Database` on the SQLite file would take the locks
    of the first one's open connections away, and another process could then checkpoint and
    reset the WAL under them, losing their commits (https://sqlite.org/howtocorrupt.html,
    2.2; seen: a worker's sent e-mail read back as queued)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
    else:
        os.close(descriptor)
    return path
