"""Shared fixtures for the abuse tests: one app per module (hypothesis runs thousands of
requests against it), on real SQLite and the shared embedded Redis (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.stores import StoreRecord
from tests.functional.webhooks.conftest import make_config, state

# Recognisable, so a test can look for them in logs and pages.
WEBHOOK_SECRET_A = "whsec-ALPHA-&amp;-7f3a9c"
WEBHOOK_SECRET_B = "whsec-BRAVO-4d1e8b"


@pytest.fixture(scope="module")
def fuzz_app(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Flask]:
    """A production-mode app (DEVELOPMENT off) shared by a module's hypothesis examples."""
    home = tmp_path_factory.mktemp("abuse")
    client = redis_server.client()
    client.flushall()
    application = create_app(make_config(home, redis_server.url), TESTING=True)
    yield application
    state(application).db.dispose()
    client.flushall()
    client.close()


@pytest.fixture(scope="module")
def fuzz_redis(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    client = redis_server.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def two_stores(fuzz_app: Flask) -> tuple[StoreRecord, StoreRecord]:
    """Two connected stores with different webhook secrets."""
    stores = state(fuzz_app).stores
    first = stores.create(
        name="A",
        base_url="http://127.0.0.1:9",
        consumer_key="ck_a",
        consumer_secret="cs_a",
        webhook_secret=WEBHOOK_SECRET_A,
    )
    second = stores.create(
        name="B",
        base_url="http://127.0.0.1:9",
        consumer_key="ck_b",
        consumer_secret="cs_b",
        webhook_secret=WEBHOOK_SECRET_B,
    )
    return first, second
