"""`POST /webhooks/shopify/<store id>`: Shopify's deliveries through the one webhook route, with
real storage: signed REST bodies become one inbox event per resource state, retries are one
event, anything forged or malformed records nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from plugin.adapters.sql.stores import StoreRecord
from plugin.platforms.shopify.webhooks import sign
from tests.functional.platforms.shopify.conftest import APP_SECRET
from tests.functional.webhooks.conftest import inbox_count, state

REFERENCE = Path(__file__).resolve().parents[4].parent / "shared" / "reference" / "shopify"


def fixture(name: str) -> dict[str, Any]:
    path = REFERENCE / f"rest-fixture-{name}.json"
    if not path.is_file():
        pytest.skip(f"reference file not found at {path}")
    return dict(json.loads(path.read_text())[name])


def deliver(
    client: FlaskClient,
    store_id: int,
    body: bytes | dict[str, Any],
    *,
    topic: str = "orders/create",
    secret: str = APP_SECRET,
    event_id: str = "e-1",
    webhook_id: str = "w-1",
    tamper: bool = False,
    platform: str = "shopify",
) -> Any:
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, raw),
        "X-Shopify-Shop-Domain": "ada-mugs.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Triggered-At": "2025-01-10T11:00:00Z",
    }
    if tamper:
        raw = raw.replace(b"authorized", b"paid")
    return client.post(f"/webhooks/{platform}/{store_id}", data=raw, headers=headers)


def test_an_order_is_one_inbox_event_and_its_retries_are_duplicates(
    app: Flask, client: FlaskClient, shopify_store: StoreRecord
) -> None:
    order = fixture("order")
    first = deliver(client, shopify_store.id, order)
    assert first.status_code == 202, first.get_json()
    event = state(app).events.get(first.get_json()["event_id"])
    assert event is not None
    assert (event.topic, event.resource_id, event.modified_gmt) == (
        "order.created",
        "450789469",
        "2008-01-10T16:00:00",
    )
    # Shopify's retry: the same body and event id, another delivery id.
    again = deliver(client, shopify_store.id, order, webhook_id="w-2")
    paid = deliver(client, shopify_store.id, order, topic="orders/paid", event_id="e-2")
    assert again.get_json() == {"duplicate": True}
    assert paid.get_json() == {"duplicate": True}  # the same order state
    assert inbox_count(app) == 1


def test_an_inventory_level_is_a_product_event_of_its_inventory_item(
    app: Flask, client: FlaskClient, shopify_store: StoreRecord
) -> None:
    response = deliver(
        client, shopify_store.id, fixture("inventory_level"), topic="inventory_levels/update"
    )
    assert response.status_code == 202
    event = state(app).events.get(response.get_json()["event_id"])
    assert event is not None
    assert (event.topic, event.resource_id) == ("product.updated", "808950810")


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"tamper": True}, 401),
        ({"secret": "another-secret"}, 401),
        ({"platform": "woocommerce"}, 401),  # a Shopify store is no WooCommerce store
        ({"topic": ""}, 400),
    ],
)
def test_forged_or_misrouted_deliveries_record_nothing(
    app: Flask,
    client: FlaskClient,
    shopify_store: StoreRecord,
    change: dict[str, Any],
    status: int,
) -> None:
    response = deliver(client, shopify_store.id, fixture("order"), **change)
    assert response.status_code == status
    assert inbox_count(app) == 0


def test_a_malformed_body_is_refused_and_records_nothing(
    app: Flask, client: FlaskClient, shopify_store: StoreRecord
) -> None:
    response = deliver(client, shopify_store.id, {"id": "450789469"})
    assert response.status_code == 400
    assert "id is not a positive integer" in response.get_json()["error"]
    assert inbox_count(app) == 0


@pytest.mark.parametrize(
    "topic", ["customers/redact", "shop/redact", "app/uninstalled", "carts/create"]
)
def test_topics_without_an_inbox_event_are_answered_204(
    app: Flask, client: FlaskClient, shopify_store: StoreRecord, topic: str
) -> None:
    response = deliver(
        client, shopify_store.id, {"shop_domain": "ada-mugs.myshopify.com"}, topic=topic
    )
    assert response.status_code == 204
    assert inbox_count(app) == 0
