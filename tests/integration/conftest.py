"""Fixtures every integration test may use: a migrated database (each test runs on SQLite and on
PostgreSQL, see tests/conftest.py) and a connected store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.adapters.vault import Vault


@pytest.fixture
def db(migrated_database_url: str) -> Iterator[Database]:
    database = Database(migrated_database_url)
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
