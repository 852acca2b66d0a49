"""A real sandbox store served over HTTP on loopback (in a thread) and real SQLite storage."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from sandbox.woocommerce.app import create_app

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


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a WSGI app on a free loopback port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextlib.contextmanager
def live_sandbox(data_dir: Path) -> Iterator[LiveSandbox]:
    """The real sandbox store app served over HTTP."""
    app = create_app(
        data_dir=str(data_dir), consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET
    )
    try:
        with serve(app) as url:
            yield LiveSandbox(url, app)
    finally:
        app.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[LiveSandbox]:
    with live_sandbox(tmp_path / "sandbox") as live:
        yield live
