"""Shopify deliveries: the official HMAC vector, tampered bodies, parsing REST bodies into
resource states, and one state for every retry of an event."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from plugin.platforms.shopify.webhooks import (
    TOPICS,
    BadDelivery,
    order_fingerprint,
    parse,
    sign,
    verify,
)
from plugin.ports import Topic

REFERENCE = Path(__file__).resolve().parents[4].parent / "shared" / "reference"


def reference(name: str) -> Any:
    path = REFERENCE / name if name.endswith("vectors.json") else REFERENCE / "shopify" / name
    if not path.is_file():
        pytest.skip(f"reference file not found at {path}")
    return json.loads(path.read_text())


def headers(**values: str) -> Any:
    table = {f"X-Shopify-{k.replace('_', '-')}".lower(): v for k, v in values.items()}
    return lambda name: table.get(name.lower())


def test_the_official_vector_passes() -> None:
    vector = next(
        v for v in reference("signature-vectors.json")["vectors"] if v["platform"] == "shopify"
    )
    body = vector["body"].encode()
    assert sign(vector["secret"], body) == vector["signature"]
    assert verify(vector["secret"], body, vector["signature"]) is True


@pytest.mark.parametrize(
    ("secret", "body", "signature"),
    [
        ("test_secret_key", b'{"foo": "baz"}', "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
        ("test_secret_key", b'{"foo": "bar"} ', "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
        ("test_secret_kez", b'{"foo": "bar"}', "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
        ("", b'{"foo": "bar"}', "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="),
        ("test_secret_key", b'{"foo": "bar"}', None),
        ("test_secret_key", b'{"foo": "bar"}', ""),
        ("test_secret_key", b'{"foo": "bar"}', "not base64!"),
        ("test_secret_key", b'{"foo": "bar"}', "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g"),
    ],
)
def test_tampered_bodies_and_bad_signatures_are_refused(
    secret: str, body: bytes, signature: str | None
) -> None:
    assert verify(secret, body, signature) is False


def test_the_reference_order_body_is_one_order_state() -> None:
    body = json.dumps(reference("rest-fixture-order.json")["order"]).encode()

    event = parse("orders/create", body, headers(Event_Id="e-1", Webhook_Id="w-1"))

    assert event.topic == Topic.ORDER_CREATED
    assert event.resource_id == "450789469"
    assert event.modified_gmt == dt.datetime(2008, 1, 10, 16, 0, tzinfo=dt.UTC)
    assert event.event_id == "e-1"
    order = reference("rest-fixture-order.json")["order"]
    assert event.fingerprint == order_fingerprint(
        financial_status="AUTHORIZED",
        cancelled=False,
        closed=False,
        lines=[(str(line["id"]), line["quantity"]) for line in order["line_items"]],
    )


def test_retries_and_the_other_order_topics_give_the_same_state() -> None:
    body = json.dumps(reference("rest-fixture-order.json")["order"]).encode()
    first = parse("orders/create", body, headers(Event_Id="e-1", Webhook_Id="w-1"))
    retry = parse("orders/create", body, headers(Event_Id="e-1", Webhook_Id="w-2"))
    paid = parse("orders/paid", body, headers(Event_Id="e-2"))
    assert (retry.resource_id, retry.modified_gmt, retry.fingerprint) == (
        first.resource_id,
        first.modified_gmt,
        first.fingerprint,
    )
    assert paid.topic == Topic.ORDER_UPDATED
    assert paid.fingerprint == first.fingerprint


def test_a_changed_order_is_another_state() -> None:
    order = reference("rest-fixture-order.json")["order"]
    before = parse("orders/updated", json.dumps(order).encode(), headers())
    cancelled = {**order, "cancelled_at": "2008-01-10T12:00:00-05:00"}
    after = parse("orders/updated", json.dumps(cancelled).encode(), headers())
    assert after.fingerprint != before.fingerprint
    assert before.event_id is None


def test_an_inventory_level_is_a_product_event_for_its_inventory_item() -> None:
    level = reference("rest-fixture-inventory_level.json")["inventory_level"]
    event = parse("inventory_levels/update", json.dumps(level).encode(), headers(Event_Id="e9"))
    assert event.topic == Topic.PRODUCT_UPDATED
    assert event.resource_id == "808950810"
    assert event.modified_gmt == dt.datetime(2018, 5, 7, 19, 51, 26, tzinfo=dt.UTC)
    more = parse(
        "inventory_levels/update", json.dumps({**level, "available": 7}).encode(), headers()
    )
    assert more.fingerprint != event.fingerprint


def test_a_product_body_is_a_product_event() -> None:
    product = reference("rest-fixture-product.json")["product"]
    event = parse("products/update", json.dumps(product).encode(), headers())
    assert event.topic == Topic.PRODUCT_UPDATED
    assert event.resource_id == str(product["id"])


def test_every_subscribed_topic_maps_to_a_neutral_topic() -> None:
    assert set(TOPICS) == {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "inventory_levels/update",
        "products/update",
    }


@pytest.mark.parametrize(
    ("topic", "body", "message"),
    [
        ("orders/create", b"not json", "not JSON"),
        ("orders/create", b"[1, 2]", "not a JSON object"),
        ("orders/create", b'{"id": "12", "updated_at": "2025-01-01T00:00:00Z"}', "id is not"),
        ("orders/create", b'{"id": true, "updated_at": "2025-01-01T00:00:00Z"}', "id is not"),
        ("orders/create", b'{"id": 12}', "updated_at is missing"),
        ("orders/create", b'{"id": 12, "updated_at": "yesterday"}', "not a date-time"),
        ("orders/create", b'{"id": 12, "updated_at": "2025-01-01T00:00:00"}', "no offset"),
        (
            "orders/create",
            b'{"id": 1, "updated_at": "2025-01-01T00:00:00Z", "line_items": 3}',
            "line_items is not a list",
        ),
        (
            "inventory_levels/update",
            b'{"location_id": 1, "updated_at": "2025-01-01T00:00:00Z"}',
            "inventory_item_id",
        ),
        ("orders/create", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("orders/edited", b'{"id": 1}', "not one we subscribe to"),
        ("customers/redact", b'{"shop_id": 1}', "not one we subscribe to"),
    ],
)
def test_bad_bodies_are_refused_saying_why(topic: str, body: bytes, message: str) -> None:
    with pytest.raises(BadDelivery, match=message):
        parse(topic, body, headers())
