"""Fixtures every integration test may use: a migrated SQLite database and a connected store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.crypto import Vault
from plugin.storage.db import Database
from plugin.storage.repositories import StoreRecord, StoreRepository


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def vault() -> Vault:
    return Vault("integration-test-secret-key-0123456789")


@pytest.fixture
def stores(db: Database, vault: Vault) -> StoreRepository:
    return StoreRepository(db, vault)


@pytest.fixture
def store(stores: StoreRepository) -> StoreRecord:
    return stores.create(
        name="Shop",
        base_url="http://127.0.0.1:8001/",
        consumer_key="ck_test",
        consumer_secret="cs_test",
        webhook_secret="whsec-test",
    )
