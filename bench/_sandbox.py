"""A sandbox store process on a free loopback port, for benchmarks (and their tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
API_PATH = "/wp-json/wc/v3"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_sandbox(consumer_key: str, consumer_secret: str) -> Iterator[str]:
    """Start `python -m sandbox` (in-memory store) with these REST keys; yield its base URL
    (`http://127.0.0.1:<port>`) once it answers, and stop it afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "SANDBOX_CONSUMER_KEY": consumer_key,
        "SANDBOX_CONSUMER_SECRET": consumer_secret,
    }
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {process.returncode}")
            try:
                requests.get(url + API_PATH + "/orders", timeout=1)
                break
            except (requests.ConnectionError, requests.Timeout):
                if time.monotonic() > deadline:
                    raise RuntimeError("sandbox did not start within 30 s") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
