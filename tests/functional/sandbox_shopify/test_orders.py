"""Orders through the Admin GraphQL API: reads, payments, notes, tags, metafields, edits,
creation and cancellation, each with its exact outcome."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import (
    ShopifyApi,
    checkout,
    snapshot,
    variant_by_sku,
)

ORDER = """
query Order($id: ID!) {
  order(id: $id) {
    id name email note tags closed cancelledAt cancelReason
    displayFinancialStatus displayFulfillmentStatus
    totalPriceSet { shopMoney { amount currencyCode } }
    currentTotalPriceSet { shopMoney { amount } }
    totalCapturableSet { shopMoney { amount } }
    totalOutstandingSet { shopMoney { amount } }
    customer { email firstName }
    lineItems(first: 10) { nodes {
      id sku quantity currentQuantity variant { id }
      originalUnitPriceSet { shopMoney { amount } }
      discountedTotalSet { shopMoney { amount } }
    } }
    transactions(first: 10) {
      id kind status gateway authorizationExpiresAt createdAt
      amountSet { shopMoney { amount } }
      parentTransaction { id }
    }
    fulfillmentOrders(first: 10) { nodes {
      id status assignedLocation { name location { id } }
      fulfillmentHolds { reason reasonNotes handle }
      lineItems(first: 10) { nodes { id totalQuantity remainingQuantity lineItem { sku } } }
    } }
  }
}
"""


def read(api: ShopifyApi, order_id: str) -> dict[str, Any]:
    return api.data(ORDER, {"id": order_id})["order"]  # type: ignore[no-any-return]


def amount(money_bag: dict[str, Any]) -> str:
    return str(money_bag["shopMoney"]["amount"])


def test_card_checkout_is_authorised_not_captured(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1), ("BOARD-WALNUT", 2)])
    order = read(api, placed["id"])
    assert order["name"] == "#1001"
    assert order["displayFinancialStatus"] == "AUTHORIZED"
    assert order["displayFulfillmentStatus"] == "UNFULFILLED"
    assert amount(order["totalPriceSet"]) == "102.0"
    assert amount(order["totalCapturableSet"]) == "102.0"
    assert amount(order["totalOutstandingSet"]) == "102.0"
    assert order["customer"] == {"email": "ada@example.com", "firstName": "Ada"}
    [authorization] = order["transactions"]
    assert (authorization["kind"], authorization["status"], authorization["gateway"]) == (
        "AUTHORIZATION",
        "SUCCESS",
        "shopify_payments",
    )
    assert amount(authorization["amountSet"]) == "102.0"
    created = authorization["createdAt"]
    assert authorization["authorizationExpiresAt"][:10] > created[:10]
    assert [
        (li["sku"], li["quantity"], li["currentQuantity"], amount(li["discountedTotalSet"]))
        for li in order["lineItems"]["nodes"]
    ] == [("MUG-BLUE", 1, 1, "12.0"), ("BOARD-WALNUT", 2, 2, "90.0")]
    [fulfillment_order] = order["fulfillmentOrders"]["nodes"]
    assert fulfillment_order["status"] == "OPEN"
    assert fulfillment_order["assignedLocation"]["name"] == "Warehouse"
    assert [
        (n["lineItem"]["sku"], n["remainingQuantity"])
        for n in fulfillment_order["lineItems"]["nodes"]
    ] == [("MUG-BLUE", 1), ("BOARD-WALNUT", 2)]
    board = sandbox.shop.table("items")[variant_by_sku(sandbox, "BOARD-WALNUT")["_item"]]
    warehouse = next(iter(sandbox.shop.table("locations")))
    assert (board["_levels"][warehouse]["available"], board["_levels"][warehouse]["committed"]) == (
        -2,
        2,
    )


def test_manual_payment_is_pending_then_marked_paid(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 2)], payment="manual")
    order = read(api, placed["id"])
    assert order["displayFinancialStatus"] == "PENDING"
    assert order["transactions"] == []
    mark = """
        mutation($input: OrderMarkAsPaidInput!) { orderMarkAsPaid(input: $input) { order
        { displayFinancialStatus } userErrors { field message } } }
    """
    payload = api.data(mark, {"input": {"id": placed["id"]}})["orderMarkAsPaid"]
    assert payload == {"order": {"displayFinancialStatus": "PAID"}, "userErrors": []}


def test_paid_checkout_is_a_sale(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1)], payment="paid")
    order = read(api, placed["id"])
    assert order["displayFinancialStatus"] == "PAID"
    assert [(t["kind"], t["status"]) for t in order["transactions"]] == [("SALE", "SUCCESS")]


CAPTURE = """
mutation Capture($input: OrderCaptureInput!) {
  orderCapture(input: $input) {
    transaction { kind status amountSet { shopMoney { amount } } parentTransaction { id } }
    userErrors { field message }
  }
}
"""


def test_partial_captures_then_paid(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1), ("BOARD-WALNUT", 2)])
    authorization = read(api, placed["id"])["transactions"][0]["id"]
    first = {
        "input": {
            "id": placed["id"],
            "parentTransactionId": authorization,
            "amount": "12.00",
            "currency": "USD",
            "finalCapture": False,
        }
    }
    payload = api.data(CAPTURE, first)["orderCapture"]
    assert payload == {
        "transaction": {
            "kind": "CAPTURE",
            "status": "SUCCESS",
            "amountSet": {"shopMoney": {"amount": "12.0"}},
            "parentTransaction": {"id": authorization},
        },
        "userErrors": [],
    }
    order = read(api, placed["id"])
    assert order["displayFinancialStatus"] == "PARTIALLY_PAID"
    assert amount(order["totalCapturableSet"]) == "90.0"
    assert amount(order["totalOutstandingSet"]) == "90.0"
    too_much = {
        "input": {"id": placed["id"], "parentTransactionId": authorization, "amount": "90.01"}
    }
    before = snapshot(sandbox)
    refused = api.data(CAPTURE, too_much)["orderCapture"]
    assert refused == {
        "transaction": None,
        "userErrors": [
            {
                "field": ["input", "amount"],
                "message": "Amount cannot exceed the capturable amount of 90.00",
            }
        ],
    }
    assert snapshot(sandbox) == before
    rest = {
        "input": {
            "id": placed["id"],
            "parentTransactionId": authorization,
            "amount": "90",
            "finalCapture": True,
        }
    }
    assert api.data(CAPTURE, rest)["orderCapture"]["userErrors"] == []
    order = read(api, placed["id"])
    assert order["displayFinancialStatus"] == "PAID"
    assert amount(order["totalCapturableSet"]) == "0.0"


def test_authorisation_expires_after_seven_days(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1)])
    authorization = read(api, placed["id"])["transactions"][0]["id"]
    response = app.test_client().post("/sandbox/shopify/clock", json={"advance_seconds": 7 * 86400})
    assert response.status_code == 200
    assert read(api, placed["id"])["displayFinancialStatus"] == "EXPIRED"
    before = snapshot(sandbox)
    payload = api.data(
        CAPTURE,
        {"input": {"id": placed["id"], "parentTransactionId": authorization, "amount": "12.00"}},
    )["orderCapture"]
    assert payload == {
        "transaction": None,
        "userErrors": [
            {"field": ["input", "parentTransactionId"], "message": "Authorization has expired"}
        ],
    }
    assert snapshot(sandbox) == before


def test_note_tags_and_metafields(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1)])
    update = """
        mutation($input: OrderInput!) { orderUpdate(input: $input) { order { note }
        userErrors { field message } } }
    """
    payload = api.data(update, {"input": {"id": placed["id"], "note": "Backorder: 1 board"}})
    assert payload["orderUpdate"] == {"order": {"note": "Backorder: 1 board"}, "userErrors": []}
    add = """
        mutation($id: ID!, $tags: [String!]!) { tagsAdd(id: $id, tags: $tags) { node {
        ... on Order { tags } } userErrors { message } } }
    """
    payload = api.data(add, {"id": placed["id"], "tags": ["backorder, split", "Backorder"]})
    assert payload["tagsAdd"] == {"node": {"tags": ["backorder", "split"]}, "userErrors": []}
    remove = """
        mutation($id: ID!, $tags: [String!]!) { tagsRemove(id: $id, tags: $tags) { node
        { ... on Order { tags } } userErrors { message } } }
    """
    assert api.data(remove, {"id": placed["id"], "tags": ["SPLIT"]})["tagsRemove"]["node"] == {
        "tags": ["backorder"]
    }
    set_metafields = """
    mutation($metafields: [MetafieldsSetInput!]!) {
      metafieldsSet(metafields: $metafields) {
        metafields { namespace key value type jsonValue compareDigest }
        userErrors { field message code elementIndex }
      }
    }"""
    entry = {
        "ownerId": placed["id"],
        "namespace": "backorders",
        "key": "split_key",
        "value": '{"key": "1001-a"}',
        "type": "json",
    }
    saved = api.data(set_metafields, {"metafields": [entry]})["metafieldsSet"]
    assert saved["userErrors"] == []
    [metafield] = saved["metafields"]
    assert (metafield["value"], metafield["jsonValue"]) == ('{"key": "1001-a"}', {"key": "1001-a"})
    query = """
        query($id: ID!) { order(id: $id) { metafield(namespace: "backorders", key:
        "split_key") { value } metafields(first: 5) { nodes { key } } } }
    """
    data = api.data(query, {"id": placed["id"]})["order"]
    assert data == {
        "metafield": {"value": '{"key": "1001-a"}'},
        "metafields": {"nodes": [{"key": "split_key"}]},
    }
    before = snapshot(sandbox)
    stale = {**entry, "value": '{"key": "other"}', "compareDigest": "0" * 64}
    refused = api.data(set_metafields, {"metafields": [stale]})["metafieldsSet"]
    assert refused["metafields"] is None
    assert [e["code"] for e in refused["userErrors"]] == ["STALE_OBJECT"]
    bad_type = {**entry, "key": "count", "value": "three", "type": "number_integer"}
    refused = api.data(set_metafields, {"metafields": [bad_type]})["metafieldsSet"]
    assert [(e["code"], e["field"]) for e in refused["userErrors"]] == [
        ("INVALID_VALUE", ["metafields", "0", "value"])
    ]
    assert snapshot(sandbox) == before
    fresh = {**entry, "value": '{"key": "1001-b"}', "compareDigest": metafield["compareDigest"]}
    assert api.data(set_metafields, {"metafields": [fresh]})["metafieldsSet"]["userErrors"] == []


def test_orders_updated_since_paged_by_update_time(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    client = app.test_client()
    first = checkout(client, sandbox, [("MUG-BLUE", 1)])
    second = checkout(client, sandbox, [("MUG-BLUE", 1)])
    client.post("/sandbox/shopify/clock", json={"advance_seconds": 60})
    since = sandbox.shop.now_iso()
    client.post("/sandbox/shopify/clock", json={"advance_seconds": 60})
    update = (
        "mutation($input: OrderInput!) { orderUpdate(input: $input) { userErrors { message } } }"
    )
    api.data(update, {"input": {"id": first["id"], "note": "touched"}})
    query = """query($q: String, $after: String) {
      orders(first: 1, after: $after, query: $q, sortKey: UPDATED_AT) {
      nodes { id name } pageInfo { hasNextPage endCursor } } }"""
    page = api.data(query, {"q": f"updated_at:>'{since}'"})["orders"]
    assert page["nodes"] == [{"id": first["id"], "name": "#1001"}]
    assert page["pageInfo"]["hasNextPage"] is False
    everything = api.data(query.replace("first: 1", "first: 5"), {"q": "status:open"})["orders"]
    assert [o["id"] for o in everything["nodes"]] == [second["id"], first["id"]]


CANCEL = """
mutation Cancel($id: ID!) {
  orderCancel(orderId: $id, refund: true, restock: true, reason: INVENTORY, staffNote: "no stock") {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""


def test_cancel_restocks_voids_and_closes(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 3)])
    payload = api.data(CANCEL, {"id": placed["id"]})["orderCancel"]
    assert payload["orderCancelUserErrors"] == []
    assert payload["job"]["done"] is False
    job = api.data("query($id: ID!) { job(id: $id) { done } }", {"id": payload["job"]["id"]})
    assert job == {"job": {"done": True}}
    order = read(api, placed["id"])
    assert order["cancelReason"] == "INVENTORY"
    assert order["closed"] is True
    assert order["displayFinancialStatus"] == "VOIDED"
    assert [(t["kind"], t["status"]) for t in order["transactions"]] == [
        ("AUTHORIZATION", "SUCCESS"),
        ("VOID", "SUCCESS"),
    ]
    assert [n["status"] for n in order["fulfillmentOrders"]["nodes"]] == ["CLOSED"]
    assert [li["currentQuantity"] for li in order["lineItems"]["nodes"]] == [0]
    mug = sandbox.shop.table("items")[variant_by_sku(sandbox, "MUG-BLUE")["_item"]]
    warehouse = next(iter(sandbox.shop.table("locations")))
    assert (mug["_levels"][warehouse]["available"], mug["_levels"][warehouse]["committed"]) == (
        10,
        0,
    )
    before = snapshot(sandbox)
    again = api.data(CANCEL, {"id": placed["id"]})["orderCancel"]
    assert again == {
        "job": None,
        "orderCancelUserErrors": [
            {
                "field": ["orderId"],
                "message": "Cannot cancel an order that has already been cancelled",
                "code": "INVALID",
            }
        ],
    }
    assert snapshot(sandbox) == before


EDIT_BEGIN = """
    mutation($id: ID!) { orderEditBegin(id: $id) { calculatedOrder { id
    lineItems(first: 5) { nodes { id quantity sku } } } userErrors { message } } }
"""
EDIT_SET = """mutation($id: ID!, $line: ID!, $quantity: Int!) {
  orderEditSetQuantity(id: $id, lineItemId: $line, quantity: $quantity, restock: true) {
    calculatedLineItem { id quantity } calculatedOrder { totalPriceSet { shopMoney { amount } } }
    userErrors { field message } } }"""
EDIT_COMMIT = """
    mutation($id: ID!) { orderEditCommit(id: $id, staffNote: "moved to backorder") {
    order { id } userErrors { message } } }
"""


def test_order_edit_removes_backordered_units(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = checkout(app.test_client(), sandbox, [("MUG-BLUE", 1), ("BOARD-WALNUT", 2)])
    begun = api.data(EDIT_BEGIN, {"id": placed["id"]})["orderEditBegin"]["calculatedOrder"]
    board_line = next(n for n in begun["lineItems"]["nodes"] if n["sku"] == "BOARD-WALNUT")
    staged = api.data(EDIT_SET, {"id": begun["id"], "line": board_line["id"], "quantity": 0})
    assert staged["orderEditSetQuantity"]["calculatedLineItem"] == {
        "id": board_line["id"],
        "quantity": 0,
    }
    assert (
        staged["orderEditSetQuantity"]["calculatedOrder"]["totalPriceSet"]["shopMoney"]["amount"]
        == "12.0"
    )
    assert read(api, placed["id"])["lineItems"]["nodes"][1]["currentQuantity"] == 2  # staged only
    assert api.data(EDIT_COMMIT, {"id": begun["id"]})["orderEditCommit"]["userErrors"] == []
    order = read(api, placed["id"])
    assert [(li["quantity"], li["currentQuantity"]) for li in order["lineItems"]["nodes"]] == [
        (1, 1),
        (2, 0),
    ]
    assert amount(order["currentTotalPriceSet"]) == "12.0"
    assert amount(order["totalPriceSet"]) == "102.0"
    assert amount(order["totalOutstandingSet"]) == "12.0"
    board = sandbox.shop.table("items")[variant_by_sku(sandbox, "BOARD-WALNUT")["_item"]]
    warehouse = next(iter(sandbox.shop.table("locations")))
    assert (board["_levels"][warehouse]["available"], board["_levels"][warehouse]["committed"]) == (
        0,
        0,
    )


CREATE = """
mutation Create($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name displayFinancialStatus tags customer { email }
            lineItems(first: 5) { nodes { title sku quantity
              originalUnitPriceSet { shopMoney { amount } } } }
            metafield(namespace: "backorders", key: "parent") { value } }
    userErrors { field message code }
  }
}
"""


def test_order_create_for_a_separate_backorder(api: ShopifyApi, sandbox: Any) -> None:
    board = variant_by_sku(sandbox, "BOARD-WALNUT")
    variables = {
        "order": {
            "email": "ada@example.com",
            "tags": ["backorder"],
            "financialStatus": "PENDING",
            "lineItems": [
                {
                    "variantId": board["id"],
                    "quantity": 2,
                    "priceSet": {"shopMoney": {"amount": "40.00", "currencyCode": "USD"}},
                }
            ],
            "metafields": [
                {
                    "namespace": "backorders",
                    "key": "parent",
                    "value": "#1001",
                    "type": "single_line_text_field",
                }
            ],
        },
        "options": {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"},
    }
    payload = api.data(CREATE, variables)["orderCreate"]
    assert payload["userErrors"] == []
    order = payload["order"]
    assert order["name"] == "#1001"
    assert order["displayFinancialStatus"] == "PENDING"
    assert order["tags"] == ["backorder"]
    assert order["customer"] == {"email": "ada@example.com"}
    assert order["lineItems"]["nodes"] == [
        {
            "title": "Walnut Board",
            "sku": "BOARD-WALNUT",
            "quantity": 2,
            "originalUnitPriceSet": {"shopMoney": {"amount": "40.0"}},
        }
    ]
    assert order["metafield"] == {"value": "#1001"}


def test_order_create_obeying_policy_refuses_a_sold_out_deny_variant(
    api: ShopifyApi, sandbox: Any
) -> None:
    apron = variant_by_sku(sandbox, "APRON-LINEN")
    before = snapshot(sandbox)
    variables = {
        "order": {"lineItems": [{"variantId": apron["id"], "quantity": 1}]},
        "options": {"inventoryBehaviour": "DECREMENT_OBEYING_POLICY"},
    }
    payload = api.data(CREATE, variables)["orderCreate"]
    assert payload == {
        "order": None,
        "userErrors": [
            {
                "field": ["order", "lineItems", "0", "quantity"],
                "message": "Linen Apron is out of stock.",
                "code": "INVENTORY_CLAIM_FAILED",
            }
        ],
    }
    assert snapshot(sandbox) == before


INVOICE = """mutation invoice($id: ID!, $email: EmailInput) {
  orderInvoiceSend(id: $id, email: $email) { order { id } userErrors { field message code } } }"""


def test_an_invoice_is_sent_for_what_is_owed_and_refused_when_nothing_is(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    client = app.test_client()
    placed = checkout(client, sandbox, [("MUG-BLUE", 2)])  # 24.00 authorised
    client.post("/sandbox/shopify/clock", json={"advance_seconds": 8 * 86400})
    payload = api.data(INVOICE, {"id": placed["id"], "email": {"customMessage": "Please pay."}})
    assert payload["orderInvoiceSend"] == {"order": {"id": placed["id"]}, "userErrors": []}
    [invoice] = client.get("/sandbox/shopify/invoices").get_json()
    assert {k: invoice[k] for k in ("order", "name", "to", "amount", "customMessage")} == {
        "order": placed["id"],
        "name": read(api, placed["id"])["name"],
        "to": "ada@example.com",
        "amount": "24.00",
        "customMessage": "Please pay.",
    }

    paid = checkout(client, sandbox, [("MUG-BLUE", 1)], payment="paid")
    before = snapshot(sandbox)
    refused = api.data(INVOICE, {"id": paid["id"]})["orderInvoiceSend"]
    assert refused == {
        "order": None,
        "userErrors": [
            {
                "field": ["id"],
                "message": "The invoice could not be sent.",
                "code": "ORDER_INVOICE_SEND_UNSUCCESSFUL",
            }
        ],
    }
    assert snapshot(sandbox) == before
    assert len(client.get("/sandbox/shopify/invoices").get_json()) == 1


def test_stock_received_by_hand_at_a_location(app: Flask, sandbox: Any) -> None:
    client = app.test_client()
    before = snapshot(sandbox)
    for bad in (
        {"sku": "BOARD-WALNUT", "location": "Warehouse", "delta": "3"},
        {"sku": "NO-SUCH", "location": "Warehouse", "delta": 3},
        {"sku": "BOARD-WALNUT", "location": "Attic", "delta": 3},
    ):
        assert client.post("/sandbox/shopify/stock", json=bad).status_code in (400, 404)
    assert snapshot(sandbox) == before

    seen: list[Any] = []
    sandbox.shop.listeners.append(seen.extend)
    answer = client.post(
        "/sandbox/shopify/stock", json={"sku": "BOARD-WALNUT", "location": "Warehouse", "delta": 3}
    )
    assert answer.status_code == 200
    assert answer.get_json() == {"sku": "BOARD-WALNUT", "location": "Warehouse", "delta": 3}
    warehouse = next(
        place["id"]
        for place in sandbox.shop.table("locations").values()
        if place["name"] == "Warehouse"
    )
    levels = sandbox.shop.table("items")[variant_by_sku(sandbox, "BOARD-WALNUT")["_item"]][
        "_levels"
    ]
    assert int(levels[warehouse]["available"]) == 3  # 0 in the demo shop
    assert [e.topic for e in seen] == ["inventory_levels/update"]
