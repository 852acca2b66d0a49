"""Fixtures for the sandbox REST API through Flask's test client (real in-memory store)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, create_app
from sandbox.woocommerce.store import Store
from tests.unit.sandbox.receiver import Receiver

API = "/wp-json/wc/v3"


def basic(key: str = DEMO_CONSUMER_KEY, secret: str = DEMO_CONSUMER_SECRET) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Api:
    """Small helper over the test client that always authenticates."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(API + path, headers=basic(), **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(API + path, json=body, headers=basic(), **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.put(API + path, json=body, headers=basic(), **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.client.delete(API + path, headers=basic(), **kwargs)


@pytest.fixture
def app() -> Iterator[Flask]:
    application = create_app()
    yield application
    application.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def store(app: Flask) -> Store:
    return app.extensions["sandbox"]["store"]  # type: ignore[no-any-return]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client())


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def make_product(store: Store, **fields: Any) -> dict[str, Any]:
    """Create a simple product with managed stock unless told otherwise."""
    data = {
        "name": "Thing",
        "regular_price": "10.00",
        "manage_stock": True,
        "stock_quantity": 10,
        "backorders": "no",
    }
    data.update(fields)
    return store.create_product(data)
