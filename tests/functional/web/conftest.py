"""The merchant pages through Flask's test client, on real SQLite and a real (embedded) Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import Backorders, create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.merchants import MerchantRepository
from plugin.adapters.sql.stores import StoreRecord
from plugin.config import Config
from plugin.usecases.accounts import hash_password

SECRET_KEY = "merchant-pages-secret-key-0123456789"
PASSWORD = "correct horse battery"


def make_config(tmp_path: Path, redis_url: str, **changes: Any) -> Config:
    base = Config.from_env(
        {
            "BACKORDERS_HOME": str(tmp_path),
            "SECRET_KEY": SECRET_KEY,
            "REDIS_URL": redis_url,
            "LOG_LEVEL": "WARNING",
            "DEVELOPMENT": "1",
        }
    )
    return base.replace(**changes)


@pytest.fixture
def app(
    tmp_path: Path,
    migrated_database_url: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
) -> Iterator[Flask]:
    config = make_config(tmp_path, redis_server.url, database_url=migrated_database_url)
    application = create_app(config, TESTING=True)
    yield application
    state(application).db.dispose()


def state(app: Flask) -> Backorders:
    result: Backorders = app.extensions["backorders"]
    return result


def csrf_token(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no csrf_token on the page"
    return match.group(1)


class Merchant:
    """A browser-like test client signed in as one merchant."""

    def __init__(self, app: Flask, email: str) -> None:
        self.app = app
        self.email = email
        self.client: FlaskClient = app.test_client()
        self.id = 0

    def sign_up(self) -> Merchant:
        merchant = MerchantRepository(state(self.app).db).create(
            self.email, hash_password(PASSWORD), verified=True
        )
        assert merchant is not None
        self.id = merchant.id
        return self

    def sign_in(self, password: str = PASSWORD) -> Any:
        token = csrf_token(self.client.get("/signin").get_data(as_text=True))
        return self.client.post(
            "/signin", data={"csrf_token": token, "email": self.email, "password": password}
        )

    def token(self, path: str) -> str:
        response = self.client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return csrf_token(response.get_data(as_text=True))

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any], *, token_from: str | None = None) -> Any:
        """POST with the CSRF token of `token_from` (a page); no token when it is None."""
        body = dict(data)
        if token_from is not None:
            body["csrf_token"] = self.token(token_from)
        return self.client.post(path, data=body)


@pytest.fixture
def alice(app: Flask) -> Merchant:
    merchant = Merchant(app, "alice@example.com").sign_up()
    assert merchant.sign_in().status_code == 303
    return merchant


@pytest.fixture
def bob(app: Flask) -> Merchant:
    merchant = Merchant(app, "bob@example.com").sign_up()
    assert merchant.sign_in().status_code == 303
    return merchant


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


def add_store(
    app: Flask, merchant_id: int | None, base_url: str = "http://127.0.0.1:9"
) -> StoreRecord:
    """A store row owned by `merchant_id` (port 9: nothing listens, the API is unreachable)."""
    return state(app).stores.create(
        name="Shop",
        base_url=base_url,
        consumer_key="ck_x",
        consumer_secret="cs_x",
        webhook_secret="whs",
        merchant_id=merchant_id,
    )


@pytest.fixture
def alice_store(app: Flask, alice: Merchant) -> StoreRecord:
    return add_store(app, alice.id)


DEMO_KEY = "ck_merchant_pages"
DEMO_SECRET = "cs_merchant_pages"  # noqa: S105 - test credential


class CallLog:
    """WSGI middleware that records every REST API request the sandbox store receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[str] = []  # "GET /products?include=1,2&..."

    def __call__(self, environ: Any, start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/wp-json/"):
            query = environ.get("QUERY_STRING", "")
            call = f"{environ['REQUEST_METHOD']} {path.removeprefix('/wp-json/wc/v3')}"
            self.calls.append(f"{call}?{unquote(query)}" if query else call)
        return self.app(environ, start_response)


class LiveStore:
    """The real sandbox store (demo seed) served over HTTP on loopback, its plugin row, and the
    REST calls it received (`calls`)."""

    def __init__(self, url: str, sandbox_app: Any, store: StoreRecord, log: CallLog) -> None:
        self.url = url
        self.sandbox_app = sandbox_app
        self.store = store
        self.log = log

    @property
    def calls(self) -> list[str]:
        return self.log.calls

    @property
    def shop(self) -> Any:
        return self.sandbox_app.extensions["sandbox"]["store"]

    def product_id(self, sku: str) -> int:
        [product_id] = self.shop.list_products(sku=sku)
        return int(product_id)

    def backorders(self, sku: str) -> str:
        return str(self.shop.product_json(self.product_id(sku))["backorders"])


@pytest.fixture
def live_store(app: Flask, alice: Merchant, tmp_path: Path) -> Iterator[LiveStore]:
    from sandbox.woocommerce.app import create_app as create_sandbox
    from tests.integration.connect.conftest import serve

    sandbox_app = create_sandbox(
        data_dir=str(tmp_path / "sandbox"),
        consumer_key=DEMO_KEY,
        consumer_secret=DEMO_SECRET,
        seed="demo",
    )
    log = CallLog(sandbox_app)
    try:
        with serve(log) as url:
            store = state(app).stores.create(
                name="Sandbox",
                base_url=url,
                consumer_key=DEMO_KEY,
                consumer_secret=DEMO_SECRET,
                webhook_secret="whs",
                merchant_id=alice.id,
            )
            yield LiveStore(url, sandbox_app, store, log)
    finally:
        sandbox_app.extensions["sandbox"]["deliverer"].close()


@pytest.fixture
def worker_env(
    monkeypatch: pytest.MonkeyPatch, app: Flask, tmp_path: Path, redis_server: EmbeddedRedis
) -> Iterator[None]:
    """The environment a worker process has: the same home, database, key and Redis as the
    app, and the worker's adapters built afresh from it (`worker.runtime()` keeps them per
    process, and this process runs every test)."""
    import worker

    monkeypatch.setenv("BACKORDERS_HOME", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", state(app).config.database_url)
    monkeypatch.setenv("SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("DEVELOPMENT", "1")
    monkeypatch.setattr(worker, "_runtime", None)
    yield
    if worker._runtime is not None:
        worker._runtime.db.dispose()
