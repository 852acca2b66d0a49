"""Webhooks from a real sandbox process to a real receiver on 127.0.0.1: headers, signature,
REST bodies, retries with backoff, duplicates, compliance topics and app/uninstalled."""

from __future__ import annotations

import json
import re
from datetime import datetime

import requests

from sandbox.shopify.app import DEMO_CUSTOM_SECRET
from sandbox.shopify.webhooks import retry_delays, sign
from tests.integration.sandbox_shopify.conftest import RETRY_SCALE, Shop
from tests.unit.sandbox.receiver import Receiver

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_order_created_is_delivered_signed_and_rest_shaped(shop: Shop, receiver: Receiver) -> None:
    shop.subscribe("ORDERS_CREATE", receiver.url)
    number = shop.checkout([("MUG-BLUE", 1), ("BOARD-WALNUT", 2)])
    [request] = receiver.wait_for(1)
    headers = _lower(request.headers)
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-hmac-sha256"] == sign(DEMO_CUSTOM_SECRET, request.body)
    assert headers["x-shopify-shop-domain"] == "backorders-sandbox.myshopify.com"
    assert headers["x-shopify-api-version"] == "2025-01"
    assert UUID.match(headers["x-shopify-webhook-id"])
    assert UUID.match(headers["x-shopify-event-id"])
    assert datetime.fromisoformat(headers["x-shopify-triggered-at"].replace("Z", "+00:00"))
    assert headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["order_number"] == int(number)
    assert body["name"] == f"#{number}"
    assert body["admin_graphql_api_id"] == f"gid://shopify/Order/{body['id']}"
    assert body["financial_status"] == "authorized"
    assert body["fulfillment_status"] is None
    assert body["total_price"] == "102.00"
    assert [(li["sku"], li["quantity"], li["price"]) for li in body["line_items"]] == [
        ("MUG-BLUE", 1, "12.00"),
        ("BOARD-WALNUT", 2, "45.00"),
    ]
    assert body["customer"]["email"] == "ada@example.com"


def test_inventory_and_product_updates(shop: Shop, receiver: Receiver) -> None:
    shop.subscribe("INVENTORY_LEVELS_UPDATE", receiver.url)
    shop.subscribe("PRODUCTS_UPDATE", receiver.url)
    variant = shop.variant("APRON-LINEN")
    product = shop.data(
        "query($id: ID!) { productVariant(id: $id) { product { id } inventoryItem { id } } }",
        {"id": variant},
    )["productVariant"]
    location = shop.data("{ locations(first: 1) { nodes { id } } }")["locations"]["nodes"][0]["id"]
    shop.data(
        """mutation($input: InventoryAdjustQuantitiesInput!) {
        inventoryAdjustQuantities(input: $input) {
        userErrors { message } } }""",
        {
            "input": {
                "reason": "received",
                "name": "available",
                "changes": [
                    {
                        "delta": 3,
                        "inventoryItemId": product["inventoryItem"]["id"],
                        "locationId": location,
                    }
                ],
            }
        },
    )
    shop.data(
        """mutation($p: ID!, $v: [ProductVariantsBulkInput!]!) {
        productVariantsBulkUpdate(productId: $p,
        variants: $v) { userErrors { message } } }""",
        {"p": product["product"]["id"], "v": [{"id": variant, "inventoryPolicy": "CONTINUE"}]},
    )
    requests_ = receiver.wait_for(2)
    by_topic = {_lower(r.headers)["x-shopify-topic"]: json.loads(r.body) for r in requests_}
    level = by_topic["inventory_levels/update"]
    assert level["available"] == 3
    assert (
        f"gid://shopify/InventoryItem/{level['inventory_item_id']}"
        == product["inventoryItem"]["id"]
    )
    assert f"gid://shopify/Location/{level['location_id']}" == location
    assert [v["inventory_policy"] for v in by_topic["products/update"]["variants"]] == ["continue"]


def test_failures_are_retried_with_backoff_and_the_same_ids(shop: Shop, receiver: Receiver) -> None:
    receiver.statuses = [500, 503, 302]  # a redirect is a failure too
    shop.subscribe("ORDERS_CREATE", receiver.url)
    shop.checkout([("MUG-BLUE", 1)])
    attempts = receiver.wait_for(4, timeout=20)
    assert len({r.body for r in attempts}) == 1
    for header in (
        "x-shopify-webhook-id",
        "x-shopify-event-id",
        "x-shopify-hmac-sha256",
        "x-shopify-triggered-at",
    ):
        assert len({_lower(r.headers)[header] for r in attempts}) == 1
    shop.flush()
    log = [d for d in reversed(shop.deliveries()) if d["topic"] == "orders/create"]
    assert [(d["attempt"], d["status_code"], d["success"]) for d in log] == [
        (0, 500, False),
        (1, 503, False),
        (2, 302, False),
        (3, 200, True),
    ]
    gaps = [
        (datetime.fromisoformat(b["time"]) - datetime.fromisoformat(a["time"])).total_seconds()
        for a, b in zip(log, log[1:], strict=False)
    ]
    planned = retry_delays(float(RETRY_SCALE))[:3]
    assert all(gap >= delay for gap, delay in zip(gaps, planned, strict=True)), (gaps, planned)


def test_gives_up_after_eight_retries(shop: Shop, receiver: Receiver) -> None:
    receiver.default_status = 500
    shop.subscribe("ORDERS_CREATE", receiver.url)
    shop.checkout([("MUG-BLUE", 1)])
    shop.flush(timeout=60)
    assert len(receiver.requests) == 9
    log = [d for d in shop.deliveries() if d["topic"] == "orders/create"]
    assert sorted(d["attempt"] for d in log) == list(range(9))


def test_duplicates_and_injected_failures(shop: Shop, receiver: Receiver) -> None:
    shop.subscribe("ORDERS_CREATE", receiver.url)
    assert requests.post(f"{shop.url}/sandbox/faults", json={"duplicate_rate": 1.0}, timeout=5).ok
    shop.checkout([("MUG-BLUE", 1)])
    first, second = receiver.wait_for(2)
    assert (
        _lower(first.headers)["x-shopify-event-id"] == _lower(second.headers)["x-shopify-event-id"]
    )
    assert first.body == second.body
    assert requests.post(
        f"{shop.url}/sandbox/faults", json={"duplicate_rate": 0.0, "fail_next": 2}, timeout=5
    ).ok
    shop.checkout([("MUG-BLUE", 1)])
    shop.flush()
    assert len(receiver.requests) == 3  # two failed attempts never reached it, the retry did
    log = [d for d in reversed(shop.deliveries()) if d["topic"] == "orders/create"][2:]
    assert [(d["attempt"], d["fault"], d["success"]) for d in log] == [
        (0, "fail_next", False),
        (1, "fail_next", False),
        (2, None, True),
    ]


def test_compliance_topics_reach_the_apps_address(shop: Shop, receiver: Receiver) -> None:
    shop.checkout([("MUG-BLUE", 1)])
    customer = shop.data('{ customers(first: 1, query: "email:ada@example.com") { nodes { id } } }')
    customer_id = customer["customers"]["nodes"][0]["id"]
    for name in ("customers-data-request", "customers-redact", "shop-redact"):
        response = requests.post(
            f"{shop.url}/sandbox/shopify/compliance/{name}",
            json={"client_id": "custom-app", "customer_id": customer_id},
            timeout=5,
        )
        assert response.status_code == 202, response.text
    requests_ = receiver.wait_for(3)
    bodies = {_lower(r.headers)["x-shopify-topic"]: json.loads(r.body) for r in requests_}
    for request in requests_:
        assert _lower(request.headers)["x-shopify-hmac-sha256"] == sign(
            DEMO_CUSTOM_SECRET, request.body
        )
    number = int(customer_id.rsplit("/", 1)[1])
    order_ids = bodies["customers/redact"]["orders_to_redact"]
    assert len(order_ids) == 1
    assert bodies["customers/redact"]["customer"] == {
        "id": number,
        "email": "ada@example.com",
        "phone": None,
    }
    assert bodies["customers/data_request"]["orders_requested"] == order_ids
    assert bodies["customers/data_request"]["data_request"] == {"id": 9001}
    assert bodies["shop/redact"] == {
        "shop_id": 1,
        "shop_domain": "backorders-sandbox.myshopify.com",
    }


def test_app_uninstalled(shop: Shop, receiver: Receiver) -> None:
    shop.subscribe("APP_UNINSTALLED", receiver.url)
    response = requests.post(
        f"{shop.url}/sandbox/shopify/uninstall", json={"client_id": "custom-app"}, timeout=5
    )
    assert response.status_code == 202
    [request] = receiver.wait_for(1)
    assert _lower(request.headers)["x-shopify-topic"] == "app/uninstalled"
    assert json.loads(request.body)["myshopify_domain"] == "backorders-sandbox.myshopify.com"
    assert shop.gql("{ shop { name } }").status_code == 401
