"""Integration fixtures: the real sandbox app with a real Store and a real webhook receiver on
127.0.0.1, and a real sandbox server process (``python -m sandbox.woocommerce``) stopped after
the test."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.woocommerce.app import create_app
from tests.processes import start_sandbox, stop
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


@dataclass
class Server:
    """A running sandbox process."""

    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path


def start_server(data_dir: Path, *extra: str) -> Server:
    """Start ``python -m sandbox.woocommerce`` and wait (with a deadline) until it answers."""
    url, process = start_sandbox("ck_test", "cs_test", "--data-dir", str(data_dir), *extra)
    return Server(url, process, data_dir)


def stop_server(server: Server) -> None:
    """Stop the process and wait for it."""
    stop(server.process)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = start_server(tmp_path / "store", "--seed", "demo")
    yield running
    stop_server(running)
