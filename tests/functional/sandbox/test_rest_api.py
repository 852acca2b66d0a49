"""The REST API through Flask's test client: auth, errors, pagination, filters, batch, webhooks."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from sandbox.woocommerce.store import Store
from tests.functional.sandbox.conftest import API, Api, basic, make_product
from tests.unit.sandbox.receiver import Receiver

# ------------------------------------------------------------------ authentication


def test_missing_credentials_get_woocommerce_401_bodies(app: Flask, store: Store) -> None:
    client = app.test_client()
    cases = [
        ("get", "/orders", "woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
        (
            "get",
            "/orders/5",
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot view this resource.",
        ),
        (
            "post",
            "/orders",
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        (
            "put",
            "/orders/5",
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
        (
            "delete",
            "/orders/5",
            "woocommerce_rest_cannot_delete",
            "Sorry, you are not allowed to delete this resource.",
        ),
        (
            "post",
            "/orders/batch",
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
    ]
    for method, path, code, message in cases:
        response = getattr(client, method)(API + path, json={"status": "pending"})
        assert response.status_code == 401, path
        assert response.get_json() == {"code": code, "message": message, "data": {"status": 401}}
    assert store.list_orders(status=["any", "trash"]) == []


def test_wrong_key_and_wrong_secret_are_told_apart(app: Flask, store: Store) -> None:
    client = app.test_client()
    wrong_key = client.post(API + "/products", json={"name": "X"}, headers=basic("ck_nope", "x"))
    assert wrong_key.status_code == 401
    assert wrong_key.get_json() == {
        "code": "woocommerce_rest_authentication_error",
        "message": "Consumer key is invalid.",
        "data": {"status": 401},
    }
    wrong_secret = client.post(
        API + "/products", json={"name": "X"}, headers=basic(secret="cs_wrong")
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.get_json()["message"] == "Consumer secret is invalid."
    assert store.list_products(status="any") == []


def test_query_string_credentials_are_accepted(app: Flask, store: Store) -> None:
    make_product(store)
    client = app.test_client()
    ok = client.get(API + "/products?consumer_key=ck_sandbox_demo&consumer_secret=cs_sandbox_demo")
    assert ok.status_code == 200
    assert len(ok.get_json()) == 1
    bad = client.get(API + "/products?consumer_key=ck_sandbox_demo&consumer_secret=nope")
    assert bad.status_code == 401
    assert bad.get_json()["code"] == "woocommerce_rest_authentication_error"


def test_configured_credentials_replace_the_demo_ones() -> None:
    from sandbox.woocommerce.app import create_app

    app = create_app(consumer_key="ck_custom", consumer_secret="cs_custom")
    try:
        client = app.test_client()
        assert client.get(API + "/orders", headers=basic()).status_code == 401
        assert (
            client.get(API + "/orders", headers=basic("ck_custom", "cs_custom")).status_code == 200
        )
    finally:
        app.extensions["sandbox"]["deliverer"].close()


# ------------------------------------------------------------------ errors and validation


def test_unknown_route_and_unknown_id_use_wordpress_errors(api: Api) -> None:
    response = api.get("/refunds-that-do-not-exist")
    assert response.status_code == 404
    assert response.get_json()["code"] == "rest_no_route"
    missing = api.get("/orders/424242")
    assert missing.status_code == 404
    assert missing.get_json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 404},
    }
    assert api.get("/products/424242").get_json()["code"] == "woocommerce_rest_product_invalid_id"
    assert api.get("/customers/424242").get_json()["code"] == "woocommerce_rest_invalid_id"


def test_invalid_values_are_rest_invalid_param_and_change_nothing(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    response = api.post(
        "/orders", {"status": "shipped", "line_items": [{"product_id": pid, "quantity": 1}]}
    )
    assert response.status_code == 400
    body = response.get_json()
    assert body["code"] == "rest_invalid_param"
    assert body["message"] == "Invalid parameter(s): status"
    assert body["data"]["status"] == 400
    assert "status" in body["data"]["params"]
    bad_quantity = api.post("/orders", {"line_items": [{"product_id": pid, "quantity": "two"}]})
    assert bad_quantity.status_code == 400
    assert bad_quantity.get_json()["code"] == "rest_invalid_param"
    bad_page = api.get("/orders?per_page=101")
    assert bad_page.status_code == 400
    assert bad_page.get_json()["code"] == "rest_invalid_param"
    no_product = api.post("/orders", {"line_items": [{"quantity": 1}]})
    assert no_product.get_json()["code"] == "woocommerce_rest_required_product_reference"
    bad_customer = api.post("/orders", {"customer_id": 999})
    assert bad_customer.get_json()["code"] == "woocommerce_rest_invalid_customer_id"
    assert store.list_orders(status=["any", "trash"]) == []


def test_unknown_fields_are_ignored(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    response = api.post(
        "/orders",
        {
            "line_items": [{"product_id": pid, "quantity": 1, "colour": "blue"}],
            "favourite_food": "x",
        },
    )
    assert response.status_code == 201
    assert "favourite_food" not in response.get_json()


def test_invalid_json_body_is_refused(app: Flask, store: Store) -> None:
    response = app.test_client().post(
        API + "/orders", data="{not json", headers={**basic(), "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "rest_invalid_json"
    assert store.list_orders() == []


# ------------------------------------------------------------------ orders


def _order(api: Api, pid: int, **fields: Any) -> dict[str, Any]:
    response = api.post("/orders", {"line_items": [{"product_id": pid, "quantity": 1}], **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_pagination_headers_and_pages(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    ids = [_order(api, pid)["id"] for _ in range(7)]
    first = api.get("/orders?per_page=3&orderby=id&order=asc")
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("7", "3")
    assert [o["id"] for o in first.get_json()] == ids[:3]
    third = api.get("/orders?per_page=3&page=3&orderby=id&order=asc")
    assert [o["id"] for o in third.get_json()] == ids[6:]
    assert first.headers["Link"] == (
        '<http://localhost/wp-json/wc/v3/orders?per_page=3&orderby=id&order=asc&page=2>; rel="next"'
    )
    assert third.headers["Link"] == (
        '<http://localhost/wp-json/wc/v3/orders?per_page=3&orderby=id&order=asc&page=2>; rel="prev"'
    )
    beyond = api.get("/orders?per_page=3&page=4")
    assert beyond.get_json() == []
    assert beyond.headers["X-WP-Total"] == "7"
    default = api.get("/orders")
    assert [o["id"] for o in default.get_json()] == list(reversed(ids))


def test_order_list_filters(api: Api, store: Store, app: Flask) -> None:
    pid = make_product(store)["id"]
    customer = store.create_customer({"email": "c@example.com"})["id"]
    parent = _order(api, pid, status="processing")
    child = _order(api, pid, parent_id=parent["id"], customer_id=customer)
    held = _order(api, pid, status="on-hold")

    def ids(query: str) -> list[int]:
        response = api.get("/orders?orderby=id&order=asc&" + query)
        assert response.status_code == 200, response.get_json()
        return [o["id"] for o in response.get_json()]

    assert ids("status=processing") == [parent["id"]]
    assert ids("status=processing,on-hold") == [parent["id"], held["id"]]
    assert ids("status[]=pending&status[]=on-hold") == [child["id"], held["id"]]
    assert ids(f"parent={parent['id']}") == [child["id"]]
    assert ids(f"include={held['id']},{parent['id']}") == [parent["id"], held["id"]]
    assert ids(f"customer={customer}") == [child["id"]]
    newest_first = api.get("/orders?orderby=id&order=desc").get_json()
    assert [o["id"] for o in newest_first] == [held["id"], child["id"], parent["id"]]
    store.update_order(child["id"], {"customer_note": "later"})
    modified = store.order_json(child["id"])["date_modified"]  # type: ignore[index]
    before = api.get("/orders?modified_after=2000-01-01T00:00:00").get_json()
    assert len(before) == 3
    assert ids(f"modified_after={modified}") == []


def test_trashed_orders_leave_any_and_come_back_with_status_trash(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    order = _order(api, pid)
    trashed = api.delete(f"/orders/{order['id']}")
    assert trashed.status_code == 200
    # WC_REST_CRUD_Controller::delete_item answers with the order as it was before trashing.
    assert trashed.get_json()["status"] == "pending"
    assert api.get(f"/orders/{order['id']}").get_json()["status"] == "trash"
    assert api.get("/orders").get_json() == []
    assert [o["id"] for o in api.get("/orders?status=trash").get_json()] == [order["id"]]
    forced = api.delete(f"/orders/{order['id']}?force=true")
    assert forced.status_code == 200
    assert (forced.get_json()["id"], forced.get_json()["status"]) == (order["id"], "trash")
    assert api.get(f"/orders/{order['id']}").status_code == 404


def test_order_representation_basics(api: Api, store: Store) -> None:
    pid = make_product(store, sku="MUG-1", regular_price="12.50")["id"]
    order = _order(
        api,
        pid,
        billing={"first_name": "Ada", "email": "ada@example.com"},
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Flat", "total": "5"}],
        fee_lines=[{"name": "Gift wrap", "total": "2.50"}],
        coupon_lines=[{"code": "SAVE3", "discount": "3.00"}],
        meta_data=[{"key": "_backorders_split_key", "value": "k1"}, {"key": "note", "value": "x"}],
    )
    assert order["number"] == str(order["id"])
    assert order["created_via"] == "rest-api"
    assert order["line_items"][0]["sku"] == "MUG-1"
    assert order["line_items"][0]["price"] == 12.5
    assert order["billing"]["first_name"] == "Ada"
    assert order["billing"]["last_name"] == ""
    assert (order["shipping_total"], order["discount_total"], order["total"]) == (
        "5.00",
        "3.00",
        "17.00",
    )
    assert order["coupon_lines"][0]["code"] == "save3"
    assert order["total_tax"] == "0.00"
    assert [m["key"] for m in order["meta_data"]] == ["_backorders_split_key", "note"]
    assert order["date_created"] == order["date_created_gmt"]
    assert len(order["date_created"]) == 19  # YYYY-MM-DDTHH:MM:SS
    assert order["_links"]["self"][0]["href"].endswith(f"/wp-json/wc/v3/orders/{order['id']}")


def test_fields_parameter_trims_the_response(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    order = _order(api, pid, status="processing")
    trimmed = api.get(f"/orders/{order['id']}?_fields=id,status,line_items.quantity").get_json()
    assert trimmed == {"id": order["id"], "status": "processing", "line_items": [{"quantity": 1}]}
    listed = api.get("/orders?_fields=id").get_json()
    assert listed == [{"id": order["id"]}]


def test_batch_orders_create_update_delete_with_per_item_errors(api: Api, store: Store) -> None:
    pid = make_product(store, stock_quantity=10)["id"]
    existing = _order(api, pid)
    doomed = _order(api, pid)
    response = api.post(
        "/orders/batch",
        {
            "create": [
                {"status": "processing", "line_items": [{"product_id": pid, "quantity": 2}]},
                {"parent_id": 999999, "line_items": [{"product_id": pid, "quantity": 1}]},
            ],
            "update": [
                {"id": existing["id"], "status": "on-hold"},
                {"id": 777777, "status": "failed"},
            ],
            "delete": [doomed["id"]],
        },
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["create"][0]["status"] == "processing"
    assert body["create"][1] == {
        "id": 0,
        "error": {"code": "order_invalid_parent_id", "message": "Invalid parent ID",
                  "data": {"status": 400}},
    }  # fmt: skip
    assert body["update"][0]["status"] == "on-hold"
    # WC_REST_CRUD_Controller::update_item: a missing order is a 400, not a 404.
    assert body["update"][1] == {
        "id": 777777,
        "error": {
            "code": "woocommerce_rest_shop_order_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400},
        },
    }
    assert body["delete"][0]["id"] == doomed["id"]
    assert store.order_json(doomed["id"]) is None
    # processing create (2) + on-hold update (1) reduced stock; the failed create did not.
    assert store.product_json(pid)["stock_quantity"] == 7  # type: ignore[index]
    assert len(store.list_orders()) == 2


def test_batch_limit_is_100(api: Api, store: Store) -> None:
    response = api.post("/orders/batch", {"delete": list(range(1, 102))})
    assert response.status_code == 413
    assert response.get_json()["code"] == "woocommerce_rest_request_entity_too_large"


def test_order_notes_customer_and_private(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    order = _order(api, pid)
    private = api.post(f"/orders/{order['id']}/notes", {"note": "checked stock"})
    public = api.post(
        f"/orders/{order['id']}/notes",
        {"note": "Part of your order ships later", "customer_note": True},
    )
    assert (private.status_code, public.status_code) == (201, 201)
    assert private.get_json()["customer_note"] is False
    assert public.get_json()["customer_note"] is True
    listed = api.get(f"/orders/{order['id']}/notes?type=customer").get_json()
    assert [n["note"] for n in listed] == ["Part of your order ships later"]
    everything = [n["note"] for n in api.get(f"/orders/{order['id']}/notes").get_json()]
    assert everything == ["Part of your order ships later", "checked stock"]
    missing = api.post(f"/orders/{order['id']}/notes", {})
    assert missing.status_code == 400
    assert missing.get_json()["code"] == "rest_missing_callback_param"


# ------------------------------------------------------------------ products


def test_product_list_filters(api: Api, store: Store) -> None:
    a = make_product(store, sku="A-1", stock_quantity=0, backorders="notify")["id"]
    b = make_product(store, sku="B-1", stock_quantity=5)["id"]
    c = make_product(store, sku="C-1", stock_quantity=0)["id"]

    def ids(query: str) -> list[int]:
        return [p["id"] for p in api.get("/products?" + query).get_json()]

    assert ids("sku=B-1") == [b]
    assert ids("stock_status=onbackorder") == [a]
    assert ids("stock_status=outofstock") == [c]
    assert sorted(ids(f"include={a},{c}")) == [a, c]
    page = api.get("/products?per_page=2&page=2")
    assert (page.headers["X-WP-Total"], page.headers["X-WP-TotalPages"]) == ("3", "2")
    assert len(page.get_json()) == 1


def test_product_and_variation_updates_rederive_stock(api: Api, store: Store) -> None:
    pid = make_product(store, stock_quantity=3)["id"]
    updated = api.put(f"/products/{pid}", {"stock_quantity": 0, "backorders": "notify"}).get_json()
    assert (updated["stock_status"], updated["backorders_allowed"], updated["backordered"]) == (
        "onbackorder",
        True,
        True,
    )
    parent = api.post("/products", {"name": "Shirt", "type": "variable"}).get_json()["id"]
    variation = api.post(
        f"/products/{parent}/variations",
        {
            "regular_price": "9.00",
            "manage_stock": True,
            "stock_quantity": 0,
            "backorders": "no",
            "attributes": [{"name": "Size", "option": "M"}],
        },
    ).get_json()
    assert variation["stock_status"] == "outofstock"
    changed = api.put(
        f"/products/{parent}/variations/{variation['id']}", {"stock_quantity": 4}
    ).get_json()
    assert changed["stock_status"] == "instock"
    assert api.get(f"/products/{parent}").get_json()["variations"] == [variation["id"]]
    as_product = api.get(f"/products/{variation['id']}").get_json()
    assert (as_product["type"], as_product["parent_id"]) == ("variation", parent)
    listed = api.get(f"/products/{parent}/variations?stock_status=instock").get_json()
    assert [v["id"] for v in listed] == [variation["id"]]
    bad = api.put(f"/products/{pid}", {"backorders": "sometimes"})
    assert bad.status_code == 400
    assert bad.get_json()["code"] == "rest_invalid_param"
    assert store.product_json(pid)["backorders"] == "notify"  # type: ignore[index]


def test_duplicate_sku_is_refused(api: Api, store: Store) -> None:
    make_product(store, sku="DUP")
    response = api.post("/products", {"name": "Again", "sku": "DUP"})
    assert response.status_code == 400
    assert response.get_json()["code"] == "product_invalid_sku"
    assert len(store.list_products()) == 1


# ------------------------------------------------------------------ customers


def test_customers_create_get_list(api: Api) -> None:
    created = api.post(
        "/customers",
        {"email": "grace@example.com", "first_name": "Grace", "billing": {"city": "Arlington"}},
    )
    assert created.status_code == 201
    customer = created.get_json()
    assert (customer["username"], customer["role"], customer["billing"]["city"]) == (
        "grace",
        "customer",
        "Arlington",
    )
    assert api.get(f"/customers/{customer['id']}").get_json()["email"] == "grace@example.com"
    assert [c["id"] for c in api.get("/customers?email=grace@example.com").get_json()] == [
        customer["id"]
    ]
    again = api.post("/customers", {"email": "grace@example.com"})
    assert again.status_code == 400
    assert again.get_json()["code"] == "registration-error-email-exists"
    assert len(api.get("/customers").get_json()) == 1


# ------------------------------------------------------------------ webhooks


def test_webhook_crud_and_ping(api: Api, store: Store, receiver: Receiver) -> None:
    created = api.post(
        "/webhooks",
        {"name": "Orders", "topic": "order.created", "delivery_url": receiver.url, "secret": "s3"},
    )
    assert created.status_code == 201
    hook = created.get_json()
    assert (hook["status"], hook["resource"], hook["event"]) == ("active", "order", "created")
    assert "secret" not in hook
    ping = receiver.wait_for(1)[0]
    assert ping.body == f"webhook_id={hook['id']}".encode()
    assert "X-WC-Webhook-Signature" not in ping.headers
    assert store.webhooks_for("order.created")[0]["secret"] == "s3"
    paused = api.put(f"/webhooks/{hook['id']}", {"status": "paused"}).get_json()
    assert paused["status"] == "paused"
    assert store.webhooks_for("order.created") == []
    assert [w["id"] for w in api.get("/webhooks?status=paused").get_json()] == [hook["id"]]
    assert api.delete(f"/webhooks/{hook['id']}").status_code == 501
    assert api.delete(f"/webhooks/{hook['id']}?force=true").status_code == 200
    assert api.get(f"/webhooks/{hook['id']}").status_code == 404


def test_webhook_with_failing_ping_is_still_created_active(
    api: Api, store: Store, receiver: Receiver
) -> None:
    # REST create_item ignores the ping result (class-wc-rest-webhooks-v1-controller.php).
    receiver.default_status = 500
    created = api.post("/webhooks", {"topic": "order.updated", "delivery_url": receiver.url})
    assert created.status_code == 201
    assert created.get_json()["status"] == "active"
    assert len(receiver.wait_for(1)) == 1
    assert store.webhook(created.get_json()["id"])["pending_delivery"] is True  # type: ignore[index]


def test_webhook_validation(api: Api, store: Store) -> None:
    missing = api.post("/webhooks", {"name": "x"})
    assert missing.status_code == 400
    assert missing.get_json()["message"] == "Missing parameter(s): topic, delivery_url"
    bad_topic = api.post(
        "/webhooks", {"topic": "order.exploded", "delivery_url": "http://127.0.0.1:9/x"}
    )
    assert bad_topic.get_json()["code"] == "woocommerce_rest_webhook_invalid_topic"
    assert store.list_webhooks() == []


def test_webhook_is_disabled_after_more_than_five_consecutive_failures(store: Store) -> None:
    hook = store.create_webhook({"topic": "order.created", "delivery_url": "http://127.0.0.1:9/h"})
    for _ in range(5):
        store.record_delivery(hook["id"], False)
    store.record_delivery(hook["id"], True)
    for _ in range(5):
        store.record_delivery(hook["id"], False)
    assert store.webhook(hook["id"])["status"] == "active"  # type: ignore[index]
    assert store.webhook(hook["id"])["failure_count"] == 5  # type: ignore[index]
    store.record_delivery(hook["id"], False)
    assert store.webhook(hook["id"])["status"] == "disabled"  # type: ignore[index]
    assert store.webhooks_for("order.created") == []
    # WC_Webhook::set_status leaves the count alone: re-activated through the API, the webhook
    # is disabled again by the next failure, unless a delivery succeeds first.
    store.update_webhook(hook["id"], {"status": "active"})
    assert store.webhooks_for("order.created")[0]["id"] == hook["id"]
    store.record_delivery(hook["id"], False)
    assert store.webhook(hook["id"])["status"] == "disabled"  # type: ignore[index]
    store.update_webhook(hook["id"], {"status": "active"})
    store.record_delivery(hook["id"], True)
    store.record_delivery(hook["id"], False)
    assert store.webhook(hook["id"])["status"] == "active"  # type: ignore[index]


@pytest.mark.parametrize("scope", ["read"])
def test_read_only_app_key_cannot_write(app: Flask, store: Store, scope: str) -> None:
    key = store.create_api_key(app_name="Reader", user_id="1", scope=scope)
    headers = basic(key["consumer_key"], key["consumer_secret"])
    client = app.test_client()
    assert client.get(API + "/orders", headers=headers).status_code == 200
    refused = client.post(API + "/orders", json={}, headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "The API key provided does not have write permissions."
    assert store.list_orders() == []


# ------------------------------------------------ as a WooCommerce 9.9.5 store answers (issue 13)


def test_a_line_naming_a_missing_product_gives_a_pending_order_with_a_zero_line(
    api: Api, store: Store
) -> None:
    # WC_REST_Orders_V2_Controller::prepare_line_items sets the product only when
    # wc_get_product finds it: no error, a line of product 0 priced 0.00.
    response = api.post(
        "/orders",
        {
            "set_paid": True,
            "line_items": [
                {"product_id": 999999, "quantity": 2},
                {"sku": "NO-SUCH-SKU", "quantity": 1, "name": "Ghost", "total": "4.00"},
            ],
        },
    )
    assert response.status_code == 201
    order = response.get_json()
    lines = [
        (li["product_id"], li["variation_id"], li["name"], li["quantity"], li["subtotal"],
         li["total"], li["sku"], li["price"], li["image"], li["parent_name"])
        for li in order["line_items"]
    ]  # fmt: skip
    assert lines == [
        (0, 0, "", 2, "0.00", "0.00", None, 0, {"id": 0, "src": ""}, None),
        # WC_Order_Item_Product::set_total: the subtotal is never less than the total.
        (0, 0, "Ghost", 1, "4.00", "4.00", None, 4, {"id": 0, "src": ""}, None),
    ]
    # set_paid on an order with no product that needs processing completes it
    # (WC_Order::needs_processing skips lines without a product).
    assert (order["status"], order["total"], order["needs_processing"]) == (
        "completed",
        "4.00",
        False,
    )
    assert api.get(f"/orders/{order['id']}").get_json()["line_items"][0]["product_id"] == 0


def test_an_order_names_an_existing_parent_only(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    parent = _order(api, pid)
    refused = api.post("/orders", {"parent_id": 999999, "line_items": [{"product_id": pid}]})
    itself = api.put(f"/orders/{parent['id']}", {"parent_id": parent["id"]})

    # WC_Abstract_Order::set_parent_id throws a WC_Data_Exception, answered 400.
    expected = {"code": "order_invalid_parent_id", "message": "Invalid parent ID",
                "data": {"status": 400}}  # fmt: skip
    assert (refused.status_code, refused.get_json()) == (400, expected)
    assert (itself.status_code, itself.get_json()) == (400, expected)
    assert store.list_orders() == [parent["id"]]
    assert store.order_json(parent["id"])["parent_id"] == 0  # type: ignore[index]
    child = _order(api, pid, parent_id=parent["id"])
    assert child["parent_id"] == parent["id"]


def test_updating_a_missing_order_is_a_400(api: Api, store: Store) -> None:
    response = api.put("/orders/424242", {"status": "processing"})

    # WC_REST_CRUD_Controller::update_item (GET and DELETE answer 404).
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "woocommerce_rest_shop_order_invalid_id",
        "message": "Invalid ID.",
        "data": {"status": 400},
    }
    assert api.delete("/orders/424242").status_code == 404
    assert store.list_orders(status=["any", "trash"]) == []


def test_meta_set_to_null_is_deleted(api: Api, store: Store) -> None:
    pid = make_product(store, meta_data=[{"key": "colour", "value": "blue"}])["id"]
    order = _order(
        api,
        pid,
        meta_data=[{"key": "keep", "value": "1"}, {"key": "drop", "value": "2"},
                   {"key": "never", "value": None}],
    )  # fmt: skip
    line_id = order["line_items"][0]["id"]
    by_id = next(m["id"] for m in order["meta_data"] if m["key"] == "keep")

    updated = api.put(
        f"/orders/{order['id']}",
        {
            "meta_data": [
                {"key": "drop", "value": None},
                {"id": by_id, "key": "keep", "value": None},
            ],
            "line_items": [{"id": line_id, "meta_data": [{"key": "gift", "value": "yes"}]}],
        },
    ).get_json()
    # (Updating the line also records the stock it took, `_reduced_stock`.)
    line_meta = [m for m in updated["line_items"][0]["meta_data"] if m["key"][0] != "_"]
    cleared = api.put(
        f"/orders/{order['id']}",
        {"line_items": [{"id": line_id, "meta_data": [{"key": "gift", "value": None}]}]},
    ).get_json()
    product = api.put(f"/products/{pid}", {"meta_data": [{"key": "colour", "value": None}]})

    # WC_Data::save_meta_data deletes a meta whose value is null, and never adds one.
    assert [m["key"] for m in order["meta_data"]] == ["keep", "drop"]
    assert updated["meta_data"] == []
    assert [(m["key"], m["value"]) for m in line_meta] == [("gift", "yes")]
    assert [m["key"] for m in cleared["line_items"][0]["meta_data"]] == ["_reduced_stock"]
    assert product.get_json()["meta_data"] == []
    assert store.order_json(order["id"])["meta_data"] == []  # type: ignore[index]


def test_notes_not_added_by_a_user_are_written_by_woocommerce(api: Api, store: Store) -> None:
    pid = make_product(store)["id"]
    order = _order(api, pid)
    api.put(f"/orders/{order['id']}", {"status": "on-hold"})
    created = api.post(f"/orders/{order['id']}/notes", {"note": "Split"}).get_json()

    listed = api.get(f"/orders/{order['id']}/notes").get_json()
    # add_order_note names the author "WooCommerce"; the v3 notes controller maps only the
    # lowercase "woocommerce" to "system".
    assert created["author"] == "WooCommerce"
    assert [(n["author"], n["note"]) for n in listed] == [
        ("WooCommerce", "Split"),
        ("WooCommerce", "Stock levels reduced: Thing 10&rarr;9"),
        ("WooCommerce", "Order status changed from Pending payment to On hold."),
    ]


def test_a_variation_is_not_a_product_type_filter(api: Api, store: Store) -> None:
    make_product(store)
    response = api.get("/products?type=variation")

    message = "type is not one of simple, grouped, external, and variable."
    assert response.status_code == 400
    assert response.get_json() == {
        "code": "rest_invalid_param",
        "message": "Invalid parameter(s): type",
        "data": {
            "status": 400,
            "params": {"type": message},
            "details": {"type": {"code": "rest_not_in_enum", "message": message, "data": None}},
        },
    }
    assert [p["type"] for p in api.get("/products?type=simple").get_json()] == ["simple"]


@pytest.mark.parametrize(
    ("path", "param", "code", "message", "data"),
    [
        ("/orders?per_page=0", "per_page", "rest_out_of_bounds",
         "per_page must be between 1 (inclusive) and 100 (inclusive)", None),
        ("/orders?page=x", "page", "rest_invalid_type", "page is not of type integer.",
         {"param": "page"}),
        ("/orders?status=shipped", "status", "rest_not_in_enum",
         "status[0] is not one of any, trash, auto-draft, pending, processing, on-hold, completed, "
         "cancelled, refunded, failed, and checkout-draft.", None),
        ("/orders?order=up", "order", "rest_not_in_enum", "order is not one of asc and desc.",
         None),
        ("/orders?modified_after=soon", "modified_after", "rest_invalid_date", "Invalid date.",
         None),
    ],
)  # fmt: skip
def test_validation_errors_fill_details_per_parameter(
    api: Api, path: str, param: str, code: str, message: str, data: Any
) -> None:
    response = api.get(path)

    # WP_REST_Request::has_valid_params: `params` has the message, `details` the error.
    assert response.status_code == 400
    assert response.get_json()["data"] == {
        "status": 400,
        "params": {param: message},
        "details": {param: {"code": code, "message": message, "data": data}},
    }


def test_products_variations_and_lines_carry_the_fields_of_a_real_store(
    api: Api, store: Store
) -> None:
    simple = make_product(store, name="Mug")["id"]
    pictured = make_product(
        store, name="Bowl", images=[{"id": 77, "src": "http://localhost/bowl.png"}]
    )["id"]
    shirt = store.create_product({"name": "Shirt", "type": "variable"})["id"]
    small = store.create_variation(
        shirt,
        {"regular_price": "9.00", "manage_stock": True, "stock_quantity": 5,
         "attributes": [{"name": "Size", "option": "S"}]},
    )["id"]  # fmt: skip
    order = _order(
        api,
        simple,
        line_items=[
            {"product_id": simple, "quantity": 1},
            {"product_id": pictured, "quantity": 1},
            {"product_id": shirt, "variation_id": small, "quantity": 1},
        ],
    )

    product = api.get(f"/products/{simple}").get_json()
    variable = api.get(f"/products/{shirt}").get_json()
    variation = api.get(f"/products/{shirt}/variations/{small}").get_json()
    fields = ("brands", "global_unique_id", "has_options", "post_password")
    assert [product[k] for k in fields] == [[], "", False, ""]
    assert variable["has_options"] is True
    assert {k: variation[k] for k in ("global_unique_id", "name", "parent_id", "type")} == {
        "global_unique_id": "",
        "name": "S",  # wc_get_formatted_variation: the attribute values
        "parent_id": shirt,
        "type": "variation",
    }
    # Version2 get_order_item_data: WC_Product::get_image_id is "" without an image; a
    # variation without one has its parent's, 0 when the parent has none.
    assert [li["image"] for li in order["line_items"]] == [
        {"id": "", "src": ""},
        {"id": 77, "src": "http://localhost/bowl.png"},
        {"id": 0, "src": ""},
    ]
    assert order["version"] == "9.9.5"


def test_id_lists_are_sanitised_not_validated(api: Api, store: Store) -> None:
    order = _order(api, make_product(store)["id"])

    # `include` has only wp_parse_id_list (absint of each value): what is not a number is 0.
    assert api.get("/orders?include=a").get_json() == []
    listed = api.get(f"/orders?include=x,{order['id']},{order['id']}").get_json()
    assert [o["id"] for o in listed] == [order["id"]]


def test_trash_is_not_a_status_an_order_is_given(api: Api, store: Store) -> None:
    order = _order(api, make_product(store)["id"])

    response = api.put(f"/orders/{order['id']}", {"status": "trash"})

    # WC_REST_Orders_V2_Controller::get_order_statuses: trashing is DELETE's job.
    assert response.status_code == 400
    assert response.get_json()["data"]["params"] == {
        "status": "status is not one of auto-draft, pending, processing, on-hold, completed, "
        "cancelled, refunded, failed, and checkout-draft."
    }
    assert api.get(f"/orders/{order['id']}").get_json()["status"] == "pending"
