"""A real SMTP server (aiosmtpd) on loopback, real SQLite, real (embedded) Redis, and the
worker's runtime pointed at them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller

import worker
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.merchants import StoreSettingsForm, save_store_settings
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.adapters.vault import Vault
from tests.processes import free_port

SECRET_KEY = "notify-integration-secret-key-0123456789"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: Message


@dataclass
class SmtpHandler:
    """Accepts every message; `defer` answers that many DATA commands with 451 first."""

    received: list[Received] = field(default_factory=list)
    defer: int = 0
    refuse: bool = False
    deferred: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            if self.refuse:
                return "554 5.7.1 Rejected"
            if self.deferred < self.defer:
                self.deferred += 1
                return "451 4.3.0 Try again later"
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    message_from_bytes(envelope.content),
                )
            )
        return "250 OK"


@dataclass
class SmtpServer:
    handler: SmtpHandler
    port: int

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = SmtpHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(handler, port)
    finally:
        controller.stop()


@dataclass
class Setup:
    db: Database
    stores: StoreRepository
    store: StoreRecord
    redis: redis.Redis

    def runtime(self) -> worker.Runtime:
        return worker.runtime()


def configure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, database_url: str, **env: str
) -> str:
    values = {
        "BACKORDERS_HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "SMTP_URL": "",
        "DEVELOPMENT": "0",
        "MAIL_FROM": "Mug Shop <shop@mugs.test>",
        **env,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(worker, "_runtime", None)  # rebuilt from this environment
    return database_url


def make_setup(database_url: str, redis_client: redis.Redis) -> Setup:
    from plugin.core.model import StoreSettings

    db = Database(database_url)
    db.migrate()
    stores = StoreRepository(db, Vault(SECRET_KEY))
    store = stores.create(
        name="Mug Shop",
        base_url="http://127.0.0.1:9",
        consumer_key="ck_x",
        consumer_secret="cs_x",
        webhook_secret="whs",
    )
    save_store_settings(
        db,
        store.id,
        StoreSettingsForm(
            settings=StoreSettings(),
            alert_email="owner@mugs.test",
            reconcile_interval_seconds=300,
            api_rate_limit=5.0,
        ),
    )
    return Setup(db, stores, store, redis_client)
