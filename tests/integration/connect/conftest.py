"""A real sandbox store served over HTTP on loopback (in a thread) and real SQLite storage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from plugin.crypto import Vault
from plugin.storage.db import Database
from plugin.storage.repositories import StoreRepository
from sandbox.app import create_app

CONSUMER_KEY = "ck_connect_test"
CONSUMER_SECRET = "cs_connect_test"  # noqa: S105 - test credential


@dataclass
class LiveSandbox:
    url: str
    app: Any

    @property
    def store(self) -> Any:
        return self.app.extensions["sandbox"]["store"]

    def webhooks(self) -> list[dict[str, Any]]:
        """Every webhook the store holds, oldest first, with its (write-only over REST) secret."""
        return [dict(self.store.webhook(i)) for i in sorted(self.store.list_webhooks())]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LiveSandbox]:
    app = create_app(
        data_dir=str(tmp_path / "sandbox"),
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveSandbox(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        app.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'plugin.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def stores(db: Database) -> StoreRepository:
    return StoreRepository(db, Vault("connect-test-secret-key-0123456789"))
