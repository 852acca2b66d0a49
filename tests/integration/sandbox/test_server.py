"""The sandbox as a real process: the official WooCommerce client, wc-auth, persistence."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
from woocommerce import API

from tests.integration.sandbox.conftest import Server, start_server, stop_server
from tests.unit.sandbox.receiver import Receiver


def _client(server: Server, key: str = "ck_test", secret: str = "cs_test") -> API:
    return API(
        url=server.url,
        consumer_key=key,
        consumer_secret=secret,
        version="wc/v3",
        timeout=10,
        query_string_auth=False,
    )


def test_official_client_creates_products_and_orders_and_reads_them_back(server: Server) -> None:
    wcapi = _client(server)
    created = wcapi.post(
        "products",
        {
            "name": "Client Lamp",
            "regular_price": "40.00",
            "manage_stock": True,
            "stock_quantity": 2,
            "backorders": "notify",
            "sku": "LAMP-1",
        },
    )
    assert created.status_code == 201
    product = created.json()
    assert (product["stock_status"], product["backorders_allowed"]) == ("instock", True)
    order = wcapi.post(
        "orders",
        {
            "payment_method": "bacs",
            "payment_method_title": "Direct Bank Transfer",
            "set_paid": True,
            "billing": {"first_name": "John", "email": "john.doe@example.com"},
            "line_items": [{"product_id": product["id"], "quantity": 3}],
            "shipping_lines": [
                {"method_id": "flat_rate", "method_title": "Flat Rate", "total": "10.00"}
            ],
        },
    )
    assert order.status_code == 201
    order_id = order.json()["id"]
    fetched = wcapi.get(f"orders/{order_id}").json()
    assert (fetched["status"], fetched["total"], fetched["number"]) == (
        "processing",
        "130.00",
        str(order_id),
    )
    assert fetched["line_items"][0]["sku"] == "LAMP-1"
    lamp = wcapi.get(f"products/{product['id']}").json()
    assert (lamp["stock_quantity"], lamp["stock_status"], lamp["backordered"]) == (
        -1,
        "onbackorder",
        True,
    )
    listed = wcapi.get("orders", params={"status": "processing", "per_page": 5})
    assert listed.headers["X-WP-Total"] == "1"
    assert [o["id"] for o in listed.json()] == [order_id]
    seeded = wcapi.get("products", params={"per_page": 100}).json()
    assert {p["sku"] for p in seeded} >= {"MUG-BLUE", "BOARD-WALNUT", "SHIRT-FIELD", "LAMP-1"}
    wrong = _client(server, secret="cs_wrong").get("orders")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "woocommerce_rest_authentication_error"


def test_wc_auth_flow_posts_keys_to_the_callback_and_redirects(server: Server) -> None:
    callback = Receiver()
    try:
        params = {
            "app_name": "Backorders",
            "scope": "read_write",
            "user_id": "store-7",
            "return_url": "http://127.0.0.1:9/return?x=1",
            "callback_url": callback.url,
        }
        page = requests.get(server.url + "/wc-auth/v1/authorize", params=params, timeout=10)
        assert page.status_code == 200
        assert "Backorders would like to connect to your store" in page.text
        assert 'id="approve"' in page.text
        answer = requests.post(
            server.url + "/wc-auth/v1/access_granted",
            data={**params, "decision": "approve"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302
        location = urlsplit(answer.headers["Location"])
        assert (location.hostname, location.port, location.path) == ("127.0.0.1", 9, "/return")
        assert parse_qs(location.query) == {"x": ["1"], "success": ["1"], "user_id": ["store-7"]}
        posted = callback.wait_for(1)[0]
        assert posted.headers["Content-Type"] == "application/json"
        import json

        keys = json.loads(posted.body)
        assert keys["user_id"] == "store-7"
        assert keys["key_permissions"] == "read_write"
        assert keys["consumer_key"].startswith("ck_")
        assert keys["consumer_secret"].startswith("cs_")
        assert isinstance(keys["key_id"], int)
        issued = _client(server, keys["consumer_key"], keys["consumer_secret"]).get("orders")
        assert issued.status_code == 200
        denied = requests.post(
            server.url + "/wc-auth/v1/access_granted",
            data={**params, "decision": "deny"},
            allow_redirects=False,
            timeout=10,
        )
        assert parse_qs(urlsplit(denied.headers["Location"]).query)["success"] == ["0"]
        assert len(callback.requests) == 1
    finally:
        callback.close()


def test_wc_auth_keys_are_revoked_when_the_callback_fails(server: Server) -> None:
    callback = Receiver()
    callback.default_status = 500
    try:
        params = {
            "app_name": "Backorders",
            "scope": "read",
            "user_id": "1",
            "return_url": "http://127.0.0.1:9/return",
            "callback_url": callback.url,
        }
        answer = requests.post(
            server.url + "/wc-auth/v1/access_granted",
            data={**params, "decision": "approve"},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 401
        import json

        keys = json.loads(callback.wait_for(1)[0].body)
        refused = _client(server, keys["consumer_key"], keys["consumer_secret"]).get("orders")
        assert refused.status_code == 401
        assert refused.json()["message"] == "Consumer key is invalid."
    finally:
        callback.close()


def test_store_survives_a_restart_with_the_same_data_dir(tmp_path: Path) -> None:
    first = start_server(tmp_path / "kept")
    try:
        wcapi = _client(first)
        product = wcapi.post(
            "products",
            {"name": "Kept", "manage_stock": True, "stock_quantity": 5, "regular_price": "1.00"},
        ).json()
        order = wcapi.post(
            "orders",
            {"status": "on-hold", "line_items": [{"product_id": product["id"], "quantity": 2}]},
        ).json()
    finally:
        stop_server(first)
    second = start_server(tmp_path / "kept")
    try:
        wcapi = _client(second)
        again = wcapi.get(f"orders/{order['id']}").json()
        assert again["line_items"][0]["meta_data"][0]["key"] == "_reduced_stock"
        assert wcapi.get(f"products/{product['id']}").json()["stock_quantity"] == 3
        newer = wcapi.post("products", {"name": "Next"}).json()
        assert newer["id"] > order["id"]
    finally:
        stop_server(second)
