from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import redis

from plugin.adapters.redis.connection import (
    _embedded,
    connect_redis,
    embedded_socket_path,
    start_embedded_redis,
)
from plugin.config import Config


def test_embedded_server_keeps_data_across_restart() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bo-redis-test-"))
    server, url = start_embedded_redis(folder / "data" / "redis.rdb")
    assert url == f"unix://{server.socket_path}"
    client = redis.Redis.from_url(url)
    client.set("greeting", "hello")
    client.close()
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, retry=None).ping()

    again, url2 = start_embedded_redis(folder / "data" / "redis.rdb")
    try:
        client = again.client()
        assert client.get("greeting") == b"hello"
        client.close()
    finally:
        again.stop()


SECRET_KEY = "tX9-vq2LmR7_wKd4ZpE1sYhN6cBfJ3uA0gTiVo8"  # noqa: S105 - test value


def test_connect_redis_without_url_shares_one_embedded_server(tmp_path: Path) -> None:
    config = Config.from_env({"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": SECRET_KEY})
    first = connect_redis(config)
    try:
        first.set("k", "v")
        # A second process of the same instance finds the running server by its socket.
        started = _embedded.pop(config.redis_data_file)
        second = connect_redis(config)
        assert config.redis_data_file not in _embedded  # nothing new was started
        assert second.get("k") == b"v"
        assert second.connection_pool.connection_kwargs["path"] == str(
            embedded_socket_path(tmp_path)
        )
        second.close()
    finally:
        first.close()
        started.stop()


def test_connect_redis_uses_redis_url(tmp_path: Path) -> None:
    server, url = start_embedded_redis(tmp_path / "redis.rdb")
    try:
        config = Config.from_env(
            {"BACKORDERS_HOME": str(tmp_path), "SECRET_KEY": SECRET_KEY, "REDIS_URL": url}
        )
        client = connect_redis(config)
        assert client.ping() is True
        assert config.redis_data_file not in _embedded
        client.close()
    finally:
        server.stop()


def test_embedded_server_keeps_writes_through_a_crash(tmp_path: Path) -> None:
    """SIGKILL leaves no snapshot; the append-only file (synced every second) has the data."""
    import os
    import signal
    import time

    data_file = tmp_path / "data" / "redis.rdb"
    server, url = start_embedded_redis(data_file)
    client = redis.Redis.from_url(url)
    client.set("greeting", "hello")
    client.close()
    time.sleep(1.5)
    os.kill(server.pid, signal.SIGKILL)
    assert not data_file.exists()

    again, _url = start_embedded_redis(data_file)
    try:
        client = again.client()
        assert client.get("greeting") == b"hello"
        client.close()
    finally:
        again.stop()
