"""The real sandbox app (create_app) with a real Store, for storefront and admin tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sandbox.app import create_app


@pytest.fixture
def app(tmp_path: Any) -> Iterator[Flask]:
    flask_app = create_app(
        data_dir=str(tmp_path / "store"), consumer_key="ck_test", consumer_secret="cs_test"
    )
    yield flask_app
    flask_app.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def store(app: Flask) -> Any:
    return app.extensions["sandbox"]["store"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
