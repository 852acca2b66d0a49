"""Integration fixtures: the real sandbox app with a real Store and a real webhook receiver on
127.0.0.1, and a real sandbox server process (``python -m sandbox``) stopped after the test."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from sandbox.app import create_app
from tests.unit.sandbox.receiver import Receiver

AUTH = {"Authorization": "Basic " + base64.b64encode(b"ck_test:cs_test").decode()}


class Api:
    """REST v3 calls through the Flask test client with the test credentials."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def call(self, method: str, path: str, body: Any = None, headers: Any = None) -> Any:
        return self.client.open(
            "/wp-json/wc/v3" + path, method=method, json=body, headers={**AUTH, **(headers or {})}
        )

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.call(method, path, body)
        assert response.status_code in (200, 201), (response.status_code, response.get_json())
        return response.get_json()


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    flask_app = create_app(
        data_dir=str(tmp_path / "store"), consumer_key="ck_test", consumer_secret="cs_test"
    )
    yield flask_app
    flask_app.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(client: FlaskClient) -> Api:
    return Api(client)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    """A running sandbox process."""

    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, *extra: str) -> Server:
    """Start ``python -m sandbox`` and wait (with a deadline) until it answers."""
    port = free_port()
    env = {**os.environ, "SANDBOX_CONSUMER_KEY": "ck_test", "SANDBOX_CONSUMER_SECRET": "cs_test"}
    process = subprocess.Popen(  # noqa: S603 - our own entry point
        [
            sys.executable,
            "-m",
            "sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "exited")
        try:
            requests.get(url + "/wp-json/wc/v3/orders", timeout=1)
            return Server(url, process, data_dir)
        except requests.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("sandbox did not start within 30 s")


def stop_server(server: Server) -> None:
    """Stop the process and wait for it."""
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=5)
    if server.process.stderr:
        server.process.stderr.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "store", "--seed", "demo")
    yield running
    stop_server(running)
