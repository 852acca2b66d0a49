"""Webhooks from the real sandbox store to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re

from flask.testing import FlaskClient

from sandbox.faults import Faults
from sandbox.woocommerce.delivery import DEFAULT_USER_AGENT
from tests.integration.sandbox.conftest import Api
from tests.unit.sandbox.receiver import Receiver

SECRET = "k3y&amp;s3cret"


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Independent verifier: HTML-unescape the secret, HMAC-SHA256 the raw body, base64."""
    key = html.unescape(secret).encode()
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature)


def flush(client: FlaskClient) -> None:
    response = client.post("/sandbox/deliveries/flush?timeout=20")
    assert response.get_json() == {"idle": True}


def create_webhook(api: Api, receiver: Receiver, topic: str) -> int:
    body = {"name": topic, "topic": topic, "delivery_url": receiver.url, "secret": SECRET}
    return int(api.ok("POST", "/webhooks", body)["id"])


def create_order(api: Api) -> int:
    product = api.ok(
        "POST",
        "/products",
        {"name": "Widget", "regular_price": "10.00", "manage_stock": True, "stock_quantity": 50},
    )
    order = api.ok(
        "POST", "/orders", {"line_items": [{"product_id": product["id"], "quantity": 1}]}
    )
    return int(order["id"])


def test_ping_on_creation_then_signed_delivery_of_the_rest_representation(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    webhook_id = create_webhook(api, receiver, "order.created")

    [ping] = receiver.wait_for(1)
    assert ping.body == f"webhook_id={webhook_id}".encode()
    assert ping.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert [h for h in ping.headers if h.lower().startswith("x-wc-webhook")] == []

    order_id = create_order(api)
    flush(client)

    _, delivery = receiver.wait_for(2)
    assert len(receiver.requests) == 2
    h = delivery.headers
    assert h["Content-Type"] == "application/json"
    assert h["User-Agent"] == DEFAULT_USER_AGENT
    assert h["X-WC-Webhook-Source"] == "http://localhost/"
    assert h["X-WC-Webhook-Topic"] == "order.created"
    assert h["X-WC-Webhook-Resource"] == "order"
    assert h["X-WC-Webhook-Event"] == "created"
    assert h["X-WC-Webhook-ID"] == str(webhook_id)
    assert re.fullmatch(r"[0-9a-f]{32}", h["X-WC-Webhook-Delivery-ID"])
    assert verify(SECRET, delivery.body, h["X-WC-Webhook-Signature"])
    assert not verify("k3y&s3cret-wrong", delivery.body, h["X-WC-Webhook-Signature"])
    assert json.loads(delivery.body) == api.ok("GET", f"/orders/{order_id}")
    [entry] = [e for e in client.get("/sandbox/deliveries").get_json() if e["kind"] == "delivery"]
    assert (entry["webhook_id"], entry["resource_id"], entry["status_code"]) == (
        webhook_id,
        order_id,
        200,
    )
    assert entry["delivery_id"] == h["X-WC-Webhook-Delivery-ID"]


def test_deleted_order_payload_is_only_the_id(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    create_webhook(api, receiver, "order.deleted")
    order_id = create_order(api)

    # order.deleted fires when an order is trashed (class-wc-webhook.php hooks
    # woocommerce_trash_order), so delete without `force`.
    api.ok("DELETE", f"/orders/{order_id}")
    flush(client)

    _, delivery = receiver.wait_for(2)
    assert delivery.body == f'{{"id":{order_id}}}'.encode()
    assert delivery.headers["X-WC-Webhook-Event"] == "deleted"
    assert verify(SECRET, delivery.body, delivery.headers["X-WC-Webhook-Signature"])


def touch_order(api: Api, client: FlaskClient, order_id: int, note: str) -> None:
    api.ok("PUT", f"/orders/{order_id}", {"customer_note": note})
    flush(client)


def webhook_status(api: Api, webhook_id: int) -> str:
    return str(api.ok("GET", f"/webhooks/{webhook_id}")["status"])


def test_disabled_after_six_consecutive_failures_not_five(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    # The order first: creating it through REST fires order.updated too (a hook made after
    # it hears only the updates below).
    order_id = create_order(api)
    webhook_id = create_webhook(api, receiver, "order.updated")
    receiver.default_status = 500

    for attempt in range(1, 6):
        touch_order(api, client, order_id, f"attempt {attempt}")
    assert webhook_status(api, webhook_id) == "active"
    assert len(receiver.requests) == 1 + 5

    touch_order(api, client, order_id, "attempt 6")
    assert webhook_status(api, webhook_id) == "disabled"

    touch_order(api, client, order_id, "attempt 7")
    assert len(receiver.requests) == 1 + 6
    log = [e for e in client.get("/sandbox/deliveries").get_json() if e["kind"] == "delivery"]
    assert [e["status_code"] for e in log] == [500] * 6


def test_a_success_resets_the_failure_count(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    # The order first: creating it through REST fires order.updated too (a hook made after
    # it hears only the updates below).
    order_id = create_order(api)
    webhook_id = create_webhook(api, receiver, "order.updated")
    receiver.statuses = [500] * 5 + [302] + [500] * 5
    receiver.default_status = 500

    for attempt in range(11):
        touch_order(api, client, order_id, f"attempt {attempt}")
    assert webhook_status(api, webhook_id) == "active"

    touch_order(api, client, order_id, "sixth failure in a row")
    assert webhook_status(api, webhook_id) == "disabled"
    assert len(receiver.requests) == 1 + 12


def test_fail_next_through_the_admin_endpoint(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    # The order first: creating it through REST fires order.updated too (a hook made after
    # it hears only the updates below).
    order_id = create_order(api)
    webhook_id = create_webhook(api, receiver, "order.updated")

    assert client.post("/sandbox/faults", json={"fail_next": 2}).get_json()["fail_next"] == 2
    for attempt in range(3):
        touch_order(api, client, order_id, f"attempt {attempt}")

    assert len(receiver.requests) == 1 + 1
    assert json.loads(receiver.requests[1].body)["customer_note"] == "attempt 2"
    log = [e for e in client.get("/sandbox/deliveries").get_json() if e["kind"] == "delivery"]
    assert [(e["fault"], e["success"]) for e in log] == [
        (None, True),
        ("fail_next", False),
        ("fail_next", False),
    ]
    assert client.get("/sandbox/faults").get_json()["fail_next"] == 0
    assert webhook_status(api, webhook_id) == "active"


def test_seeded_drop_and_duplicate_give_exact_counts(
    api: Api, client: FlaskClient, receiver: Receiver
) -> None:
    config = {"seed": 2024, "drop_rate": 0.25, "duplicate_rate": 0.25}
    replay = Faults(config)
    plans = [replay.plan_delivery() for _ in range(20)]
    dropped = sum(p.drop for p in plans)
    doubled = sum(p.copies == 2 for p in plans)
    order_id = create_order(api)
    create_webhook(api, receiver, "order.updated")
    client.post("/sandbox/faults", json=config)

    for attempt in range(20):
        touch_order(api, client, order_id, f"attempt {attempt}")

    assert dropped > 0 and doubled > 0
    deliveries = receiver.requests[1:]
    assert len(deliveries) == 20 - dropped + doubled
    notes = [json.loads(r.body)["customer_note"] for r in deliveries]
    expected = []
    for attempt, plan in enumerate(plans):
        expected += [f"attempt {attempt}"] * (0 if plan.drop else plan.copies)
    assert notes == expected


def test_delay_reorders_deliveries(api: Api, client: FlaskClient, receiver: Receiver) -> None:
    config = {"seed": 8, "delay_rate": 1.0, "delay_max_ms": 600}
    # Creating the order fires order.created, then order.updated: one delay each.
    replay = Faults(config)
    delays = {"order.created": replay.plan_delivery().delay_ms}
    delays["order.updated"] = replay.plan_delivery().delay_ms
    assert min(delays.values()) >= 300, "seed precondition: the delays are long enough to observe"
    create_webhook(api, receiver, "order.created")
    create_webhook(api, receiver, "order.updated")
    product = api.ok("POST", "/products", {"name": "Widget", "regular_price": "1.00"})
    client.post("/sandbox/faults", json=config)

    order = api.ok(
        "POST", "/orders", {"line_items": [{"product_id": product["id"], "quantity": 1}]}
    )
    client.post("/sandbox/faults", json={"delay_rate": 0})
    api.ok("PUT", f"/orders/{order['id']}", {"customer_note": "later"})
    flush(client)

    delayed = sorted(delays, key=lambda topic: delays[topic])
    topics = [r.headers["X-WC-Webhook-Topic"] for r in receiver.requests[2:]]
    assert topics == ["order.updated", *delayed]
    log = client.get("/sandbox/deliveries?limit=3").get_json()
    assert [(e["topic"], e["fault"]) for e in log] == [
        *((topic, f"delay:{delays[topic]}ms") for topic in reversed(delayed)),
        ("order.updated", None),
    ]
