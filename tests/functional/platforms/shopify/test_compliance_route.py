"""`POST /webhooks/shopify/compliance`: the app-wide compliance address, with real storage. A
delivery signed with the app's client secret is acted on in the database and answered 200;
a tampered body, another secret, a shop header that is not the body's shop, a payload Shopify
does not send or a body past the limit is refused and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select

from app import create_app
from plugin.adapters.redis.connection import EmbeddedRedis
from plugin.adapters.sql.models import Alert, CustomerPolicyRow, OutboxMessage, Store
from plugin.config import ShopifyApp
from plugin.platforms.shopify.webhooks import sign
from tests.functional.webhooks.conftest import make_config, state

CLIENT_SECRET = "shopify-client-secret-0123"  # noqa: S105 - a test secret
SHOP = "ada-mugs.myshopify.com"
URL = "/webhooks/shopify/compliance"
VECTORS = Path(__file__).resolve().parents[4].parent / "shared" / "reference"


def make_app(
    tmp_path: Path, database_url: str, redis_url: str, shopify: ShopifyApp, **changes: Any
) -> Flask:
    config = make_config(tmp_path, redis_url, database_url=database_url, shopify=shopify, **changes)
    return create_app(config, TESTING=True)


@pytest.fixture
def app(
    tmp_path: Path,
    migrated_database_url: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
) -> Iterator[Flask]:
    application = make_app(
        tmp_path,
        migrated_database_url,
        redis_server.url,
        ShopifyApp("backorders-client", CLIENT_SECRET),
        max_webhook_bytes=4096,
    )
    yield application
    state(application).db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def stores(app: Flask) -> tuple[int, int]:
    """A store of the shop and one of another shop, each with a customer's data."""
    ids = []
    for shop in (SHOP, "grace-tea.myshopify.com"):
        store = state(app).stores.create(
            name=shop,
            base_url=f"https://{shop}",
            consumer_key=shop,
            consumer_secret="shpua_token",
            webhook_secret=CLIENT_SECRET,
            platform="shopify",
        )
        with state(app).db.session(write=True) as session:
            session.add(CustomerPolicyRow(store_id=store.id, customer_id="207119551", priority=2))
            session.add(
                OutboxMessage(
                    store_id=store.id,
                    message_key="split:1",
                    kind="order_split",
                    recipient="ada@example.com",
                    subject="Your order was split",
                    body="Dear Ada",
                )
            )
        ids.append(store.id)
    return ids[0], ids[1]


def redact_body(shop: str = SHOP) -> dict[str, Any]:
    """customers/redact as Shopify sends it (sandbox/shopify/rest.py `customer_request`)."""
    return {
        "shop_id": 954889,
        "shop_domain": shop,
        "customer": {"id": 207119551, "email": "ada@example.com", "phone": "555-625-1199"},
        "orders_to_redact": [299938, 280263],
    }


def deliver(
    client: FlaskClient,
    body: bytes | dict[str, Any],
    *,
    topic: str = "customers/redact",
    secret: str = CLIENT_SECRET,
    shop: str | None = SHOP,
    tamper: bytes | None = None,
) -> Any:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, raw),
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    }
    if shop is not None:
        headers["X-Shopify-Shop-Domain"] = shop
    if tamper is not None:
        raw = tamper
    return client.post(URL, data=raw, headers=headers)


def snapshot(app: Flask) -> dict[str, list[Any]]:
    """Every row of every table."""
    rows: dict[str, list[Any]] = {}
    with state(app).db.transaction() as sql:
        metadata = MetaData()
        metadata.reflect(bind=sql)
        for table in metadata.sorted_tables:
            rows[table.name] = sorted(map(tuple, sql.execute(select(table))), key=repr)
    return rows


def count(app: Flask, model: Any, store_id: int) -> int:
    with state(app).db.session() as session:
        return len(session.scalars(select(model).where(model.store_id == store_id)).all())


def test_customers_redact_erases_that_customer_in_that_shop_only(
    app: Flask, client: FlaskClient, stores: tuple[int, int]
) -> None:
    ours, other = stores
    response = deliver(client, redact_body())

    assert (response.status_code, response.get_json()) == (
        200,
        {"topic": "customers/redact", "stores": 1},
    )
    assert (count(app, CustomerPolicyRow, ours), count(app, OutboxMessage, ours)) == (0, 0)
    assert (count(app, CustomerPolicyRow, other), count(app, OutboxMessage, other)) == (1, 1)


def test_shop_redact_erases_the_store(
    app: Flask, client: FlaskClient, stores: tuple[int, int]
) -> None:
    ours, other = stores
    response = deliver(client, {"shop_id": 954889, "shop_domain": SHOP}, topic="shop/redact")

    assert response.status_code == 200
    with state(app).db.session() as session:
        assert session.scalars(select(Store.id)).all() == [other]
    assert (count(app, CustomerPolicyRow, ours), count(app, OutboxMessage, ours)) == (0, 0)


def test_a_data_request_becomes_an_alert_and_erases_nothing(
    app: Flask, client: FlaskClient, stores: tuple[int, int]
) -> None:
    ours, _ = stores
    body = {k: v for k, v in redact_body().items() if k != "orders_to_redact"}
    body |= {"orders_requested": [299938], "data_request": {"id": 9999}}
    response = deliver(client, body, topic="customers/data_request")
    # Shopify retries a delivery it thinks failed: the same request raises no second alert.
    again = deliver(client, body, topic="customers/data_request")

    assert (response.status_code, again.status_code) == (200, 200)
    with state(app).db.session() as session:
        [alert] = session.scalars(select(Alert)).all()
    assert (alert.store_id, alert.kind) == (ours, "customer_data_request")
    assert "customer 207119551 (data request 9999)" in alert.message
    assert count(app, CustomerPolicyRow, ours) == 1


def test_a_shop_without_a_store_here_is_answered_200_and_nothing_changes(
    app: Flask, client: FlaskClient, stores: tuple[int, int]
) -> None:
    before = snapshot(app)
    response = deliver(client, redact_body("nobody.myshopify.com"), shop="nobody.myshopify.com")
    assert (response.status_code, response.get_json()["stores"]) == (200, 0)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        # The body changed after it was signed.
        (
            {"tamper": json.dumps(redact_body() | {"customer": {"id": 1}}).encode()},
            401,
            "missing or invalid signature",
        ),
        (
            {"tamper": json.dumps(redact_body()).encode() + b" "},
            401,
            "missing or invalid signature",
        ),
        ({"secret": "another-app-secret"}, 401, "missing or invalid signature"),
        ({"secret": ""}, 401, "missing or invalid signature"),
        # Signed by the app, but the header names another shop than the body.
        ({"shop": "grace-tea.myshopify.com"}, 400, "name different shops"),
        # A shop that is not a Shopify shop name.
        (
            {"body": redact_body("ada-mugs.myshopify.com.evil.example"), "shop": None},
            400,
            "no Shopify shop named",
        ),
        ({"body": {"shop_domain": SHOP}}, 400, "customer.id is missing"),
        ({"body": b"[1, 2]"}, 400, "not a JSON object"),
        ({"body": b"\xff\xfe"}, 400, "body is not JSON"),
        ({"topic": "orders/create"}, 400, "not a compliance topic"),
        ({"topic": "app/uninstalled"}, 400, "not a compliance topic"),
        ({"body": b"{" + b" " * 5000 + b"}"}, 413, "body larger than 4096 bytes"),
    ],
)
def test_refused_deliveries_change_nothing(
    app: Flask,
    client: FlaskClient,
    stores: tuple[int, int],
    change: dict[str, Any],
    status: int,
    error: str,
) -> None:
    change = dict(change)  # parametrize's dict is shared by both databases' runs
    body = change.pop("body", redact_body())
    before = snapshot(app)

    response = deliver(client, body, **change)

    assert response.status_code == status
    assert error in response.get_json()["error"]
    assert snapshot(app) == before


def test_shopifys_official_vector_passes_the_signature_guard(
    tmp_path: Path,
    migrated_database_url: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
) -> None:
    path = VECTORS / "signature-vectors.json"
    if not path.is_file():
        pytest.skip(f"reference file not found at {path}")
    [vector] = [v for v in json.loads(path.read_text())["vectors"] if v["platform"] == "shopify"]
    app = make_app(
        tmp_path, migrated_database_url, redis_server.url, ShopifyApp("id", vector["secret"])
    )
    try:
        response = app.test_client().post(
            URL,
            data=vector["body"].encode(),
            headers={
                "X-Shopify-Hmac-Sha256": vector["signature"],
                "X-Shopify-Topic": "shop/redact",
            },
        )
        # Past the signature; `{"foo": "bar"}` names no shop.
        assert (response.status_code, response.get_json()) == (
            400,
            {"error": "no Shopify shop named"},
        )
        tampered = app.test_client().post(
            URL,
            data=vector["body"].encode().replace(b"bar", b"baz"),
            headers={
                "X-Shopify-Hmac-Sha256": vector["signature"],
                "X-Shopify-Topic": "shop/redact",
            },
        )
        assert tampered.status_code == 401
    finally:
        state(app).db.dispose()


def test_without_a_configured_app_every_delivery_is_refused(
    tmp_path: Path,
    migrated_database_url: str,
    redis_server: EmbeddedRedis,
    redis_client: redis.Redis,
) -> None:
    app = make_app(tmp_path, migrated_database_url, redis_server.url, ShopifyApp())
    try:
        state(app).stores.create(
            name=SHOP, base_url=f"https://{SHOP}", consumer_key=SHOP, consumer_secret="t",
            webhook_secret=CLIENT_SECRET, platform="shopify",
        )  # fmt: skip
        before = snapshot(app)
        response = deliver(
            app.test_client(), {"shop_id": 1, "shop_domain": SHOP}, topic="shop/redact"
        )
        assert response.status_code == 401
        assert snapshot(app) == before
    finally:
        state(app).db.dispose()
