"""Store changes reach webhooks through the real Deliverer (loopback receiver)."""

from __future__ import annotations

import json

from flask import Flask

from sandbox.woocommerce.delivery import sign
from sandbox.woocommerce.store import Store
from tests.functional.sandbox.conftest import Api, make_product
from tests.unit.sandbox.receiver import Receiver


def test_rest_order_fires_order_created_and_product_updated_with_rest_payloads(
    api: Api, store: Store, receiver: Receiver
) -> None:
    pid = make_product(store, stock_quantity=5)["id"]
    for topic in ("order.created", "product.updated"):
        created = api.post(
            "/webhooks", {"topic": topic, "delivery_url": receiver.url, "secret": "topsecret"}
        )
        assert created.status_code == 201
    assert len(receiver.wait_for(2)) == 2  # the two pings
    order = api.post(
        "/orders", {"status": "processing", "line_items": [{"product_id": pid, "quantity": 2}]}
    ).get_json()
    deliveries = receiver.wait_for(4)[2:]
    by_topic = {d.headers["X-WC-Webhook-Topic"]: d for d in deliveries}
    assert set(by_topic) == {"order.created", "product.updated"}
    for delivery in deliveries:
        assert delivery.headers["X-WC-Webhook-Signature"] == sign("topsecret", delivery.body)
    order_payload = json.loads(by_topic["order.created"].body)
    assert order_payload == api.get(f"/orders/{order['id']}").get_json()
    product_payload = json.loads(by_topic["product.updated"].body)
    assert (product_payload["id"], product_payload["stock_quantity"]) == (pid, 3)
    assert by_topic["product.updated"].headers["X-WC-Webhook-Resource"] == "product"


def test_a_rest_created_order_fires_order_created_then_order_updated(
    app: Flask, api: Api, store: Store, receiver: Receiver
) -> None:
    pid = make_product(store, stock_quantity=5)["id"]
    for topic in ("order.created", "order.updated"):
        created = api.post("/webhooks", {"topic": topic, "delivery_url": receiver.url})
        assert created.status_code == 201
    assert len(receiver.wait_for(2)) == 2  # the two pings

    # WC_REST_Orders_Controller::save_object saves a new order twice (calculate_totals, then
    # save): woocommerce_new_order, then woocommerce_update_order, whatever the status.
    order = api.post("/orders", {"line_items": [{"product_id": pid, "quantity": 1}]}).get_json()

    deliveries = receiver.wait_for(4)[2:]
    assert [d.headers["X-WC-Webhook-Topic"] for d in deliveries] == [
        "order.created",
        "order.updated",
    ]
    assert {json.loads(d.body)["id"] for d in deliveries} == {order["id"]}
    # An update of the order fires order.updated once more, and order.created never again.
    api.put(f"/orders/{order['id']}", {"customer_note": "gift"})
    later = receiver.wait_for(5)[4:]
    assert [d.headers["X-WC-Webhook-Topic"] for d in later] == ["order.updated"]
    assert json.loads(later[0].body)["customer_note"] == "gift"
    assert app.extensions["sandbox"]["deliverer"].wait_idle(10)
    assert len(receiver.requests) == 5
