"""Secrets never appear in logs or pages (issue 7, Abuse).

A store is connected through the connect page (the plugin and a sandbox store both served over
HTTP on loopback) with recognisable keys; then every page of the store is read, the store
delivers a real signed webhook for a new order, and a worker job handles it in this process.
Every log record at DEBUG and every page body is searched for the secrets.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.routing import Rule

import worker
from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.config import Config
from tests.functional.abuse.test_security import url_for_rule
from tests.integration.connect.conftest import serve

CONSUMER_KEY = "ck_CANARYKEY_5f1e2d3c4b5a69788796a5b4c3d2e1f0"
CONSUMER_SECRET = "cs_CANARYSECRET_9a8b7c6d5e4f30211203f4e5d6c7b8a9"  # noqa: S105 - test value
PASSWORD = "CANARYPASSWORD-0123456789"  # noqa: S105 - test value
SECRET_KEY = "CANARYSECRETKEY-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - test value


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def servers(
    tmp_path: Path, redis_server: EmbeddedRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any, str, Any]]:
    from sandbox.woocommerce.app import create_app as create_sandbox

    environ = {
        "BACKORDERS_HOME": str(tmp_path / "home"),
        "SECRET_KEY": SECRET_KEY,
        "REDIS_URL": redis_server.url,
        "DEVELOPMENT": "1",
        "LOG_LEVEL": "DEBUG",
    }
    sandbox_app = create_sandbox(
        data_dir=str(tmp_path / "sandbox"),
        consumer_key=CONSUMER_KEY,
        consumer_secret=CONSUMER_SECRET,
        seed="demo",
    )
    holder: dict[str, Any] = {}

    def application(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    redis_server.client().flushall()
    try:
        with serve(sandbox_app) as store_url, serve(application) as plugin_url:
            environ["PUBLIC_URL"] = plugin_url
            for name, value in environ.items():
                monkeypatch.setenv(name, value)  # the worker job reads its config from here
            holder["app"] = create_app(Config.from_env(environ))
            monkeypatch.setattr(worker, "_runtime", None)
            yield plugin_url, holder["app"], store_url, sandbox_app
            holder["app"].extensions["backorders"].db.dispose()
            if worker._runtime is not None:
                worker._runtime.db.dispose()
    finally:
        sandbox_app.extensions["sandbox"]["deliverer"].close()
        monkeypatch.setattr(worker, "_runtime", None)
        redis_server.client().flushall()


def token(html: str, field: str = "csrf_token") -> str:
    match = re.search(rf'name="{re.escape(field)}"[^>]*value="([^"]+)"', html)
    assert match, field
    return match.group(1)


def test_secrets_never_appear_in_logs_or_pages(
    servers: tuple[str, Any, str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    plugin_url, app, store_url, _sandbox = servers
    caplog.set_level(logging.DEBUG)
    state = app.extensions["backorders"]
    from plugin.adapters.sql.merchants import MerchantRepository
    from plugin.usecases.accounts import ensure_demo_merchant

    ensure_demo_merchant(MerchantRepository(state.db), "owner@example.com", PASSWORD)
    pages: list[str] = []
    http = requests.Session()

    def get(path: str) -> requests.Response:
        response = http.get(f"{plugin_url}{path}", timeout=30, allow_redirects=False)
        pages.append(response.text)
        return response

    html = get("/signin").text
    signed = http.post(
        f"{plugin_url}/signin",
        data={"csrf_token": token(html), "email": "owner@example.com", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert signed.status_code == 303
    html = get("/stores/connect").text
    connected = http.post(
        f"{plugin_url}/stores/connect",
        data={
            "action": "keys",
            "keys-csrf_token": token(html, "keys-csrf_token"),
            "keys-store_url": store_url,
            "keys-consumer_key": CONSUMER_KEY,
            "keys-consumer_secret": CONSUMER_SECRET,
        },
        timeout=30,
    )
    pages.append(connected.text)
    assert connected.status_code == 200
    [store] = state.stores.list()
    assert store.status == "connected"
    webhook_secret = state.stores.credentials(store.id).webhook_secret
    assert len(webhook_secret) >= 32

    # A wrong key pair, so the error page is searched too (the secret field is not echoed).
    html = get("/stores/connect").text
    refused = http.post(
        f"{plugin_url}/stores/connect",
        data={
            "action": "keys",
            "keys-csrf_token": token(html, "keys-csrf_token"),
            "keys-store_url": store_url,
            "keys-consumer_key": CONSUMER_KEY,
            "keys-consumer_secret": CONSUMER_SECRET + "x",
        },
        timeout=30,
    )
    assert refused.status_code == 400
    # The one allowed echo: the form the merchant just submitted keeps the key they typed (not
    # the secret, a password field left empty), so they can correct the pair. Nothing else.
    echoed = refused.text.replace(
        f'name="keys-consumer_key" required size="50" type="text" value="{CONSUMER_KEY}"', ""
    )
    assert refused.text.count(CONSUMER_KEY) == 1
    assert 'name="keys-consumer_secret" required size="50" type="password" value=""' in echoed
    pages.append(echoed)

    # Every page of the store the merchant can open.
    rules: list[Rule] = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.endpoint not in ("static",)
    ]
    products = requests.get(
        f"{store_url}/wp-json/wc/v3/products",
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
        params={"per_page": 100},
        timeout=10,
    ).json()
    # A simple product short of stock and open to backorders, so the job really splits.
    product = next(
        p
        for p in products
        if p["type"] == "simple" and p["manage_stock"] and p["backorders"] != "no"
    )
    quantity = max(int(product["stock_quantity"] or 0), 0) + 2
    opened = 0
    for rule in rules:
        if rule.arguments - {"store_id"}:
            continue
        response = get(url_for_rule(rule, store.id))
        assert response.status_code < 500, rule.endpoint
        opened += 1
    assert opened >= 8

    # The store delivers a real, signed order.created webhook for a new order.
    created = requests.post(
        f"{store_url}/wp-json/wc/v3/orders",
        auth=(CONSUMER_KEY, CONSUMER_SECRET),
        json={
            "status": "processing",
            "line_items": [{"product_id": product["id"], "quantity": quantity}],
        },
        timeout=10,
    )
    assert created.status_code == 201
    order_id = str(created.json()["id"])
    event = wait_until(
        lambda: next((e for e in state.events.list(store.id) if e.resource_id == order_id), None),
        timeout=20,
        what="the order.created webhook",
    )
    # The worker job that handles it, in this process (config from the environment).
    assert worker.process_event(event.id) == "split"
    for rule in rules:
        if set(rule.arguments) == {"store_id", "order_id"}:
            pages.append(get(url_for_rule(rule, store.id).replace("1042", order_id)).text)

    secrets = {
        "consumer key": CONSUMER_KEY,
        "consumer secret": CONSUMER_SECRET,
        "webhook secret": webhook_secret,
        "password": PASSWORD,
        "SECRET_KEY": SECRET_KEY,
    }
    records = caplog.records
    assert any(r.levelno == logging.DEBUG for r in records)  # DEBUG really was captured
    assert any("store connected" in r.getMessage() for r in records)
    logs = caplog.text + "\n".join(r.getMessage() for r in records)
    for name, secret in secrets.items():
        for fragment in (secret, secret[-16:]):
            assert fragment not in logs, f"{name} in the logs"
            for page in pages:
                assert fragment not in page, f"{name} in a page"
    assert len(pages) >= opened + 5
