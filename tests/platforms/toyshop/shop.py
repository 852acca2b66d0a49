"""The toy shop's store: a `FakeStore` pickled in a file, changed under an exclusive lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from tests.fakes import FakeStore


def shop_path(base_url: str) -> Path:
    """The file a toy shop's address names: `toyshop://<host>/<absolute path>`."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "toyshop") or not parts.path.endswith(".shop"):
        raise ValueError(f"not a toy shop address: {base_url!r}")
    return Path(parts.path)


def create_shop(path: Path, base_url: str) -> None:
    """A new, empty shop at `path`, answering at `base_url`."""
    store = FakeStore(next_id=1000, base_url=base_url.rstrip("/"))
    path.write_bytes(pickle.dumps(store))


@contextlib.contextmanager
def open_shop(path: Path) -> Iterator[FakeStore]:
    """The shop, locked against every other process until the block ends, then saved."""
    with open(f"{path}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            store: FakeStore = pickle.loads(path.read_bytes())  # noqa: S301 - our own file
            yield store
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(pickle.dumps(store))
            os.replace(temporary, path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
