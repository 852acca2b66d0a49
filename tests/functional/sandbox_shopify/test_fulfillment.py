"""The split in Shopify's terms: fulfillment orders split, held for stock and released."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.functional.sandbox_shopify.conftest import ShopifyApi, checkout, snapshot

FULFILLMENT_ORDERS = """
query($id: ID!) {
  order(id: $id) {
    displayFulfillmentStatus
    fulfillmentOrders(first: 10) { nodes {
      id status
      fulfillmentHolds { id reason reasonNotes handle displayReason heldByRequestingApp }
      supportedActions { action }
      lineItems(first: 10) { nodes { id totalQuantity remainingQuantity lineItem { sku } } }
    } }
  }
}
"""
SPLIT = """
mutation($splits: [FulfillmentOrderSplitInput!]!) {
  fulfillmentOrderSplit(fulfillmentOrderSplits: $splits) {
    fulfillmentOrderSplits {
      fulfillmentOrder { id status lineItems(first: 5) { nodes { remainingQuantity
        lineItem { sku } } } }
      remainingFulfillmentOrder { id status lineItems(first: 5) { nodes
        { remainingQuantity lineItem { sku } } } }
      replacementFulfillmentOrder { id }
    }
    userErrors { field message code }
  }
}
"""
HOLD = """
mutation($id: ID!, $hold: FulfillmentOrderHoldInput!) {
  fulfillmentOrderHold(id: $id, fulfillmentHold: $hold) {
    fulfillmentHold { id reason handle }
    fulfillmentOrder { id status }
    remainingFulfillmentOrder { id status }
    userErrors { field message code }
  }
}
"""
RELEASE = """
mutation($id: ID!) {
  fulfillmentOrderReleaseHold(id: $id) {
    fulfillmentOrder { id status fulfillmentHolds { id } }
    userErrors { field message code }
  }
}
"""


def _order(app: Flask, sandbox: Any) -> dict[str, Any]:
    return checkout(app.test_client(), sandbox, [("MUG-BLUE", 1), ("BOARD-WALNUT", 3)])


def _view(api: ShopifyApi, order_id: str) -> dict[str, Any]:
    return api.data(FULFILLMENT_ORDERS, {"id": order_id})["order"]  # type: ignore[no-any-return]


def _lines(fulfillment_order: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (n["lineItem"]["sku"], n["remainingQuantity"])
        for n in fulfillment_order["lineItems"]["nodes"]
    ]


def test_hold_some_units_for_stock_splits_them_off(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    board = next(
        n for n in original["lineItems"]["nodes"] if n["lineItem"]["sku"] == "BOARD-WALNUT"
    )
    hold = {
        "reason": "INVENTORY_OUT_OF_STOCK",
        "reasonNotes": "3 boards on backorder",
        "handle": "backorders",
        "fulfillmentOrderLineItems": [{"id": board["id"], "quantity": 3}],
    }
    payload = api.data(HOLD, {"id": original["id"], "hold": hold})["fulfillmentOrderHold"]
    assert payload["userErrors"] == []
    assert payload["fulfillmentHold"]["reason"] == "INVENTORY_OUT_OF_STOCK"
    assert payload["fulfillmentOrder"] == {"id": original["id"], "status": "ON_HOLD"}
    assert payload["remainingFulfillmentOrder"]["status"] == "OPEN"
    view = _view(api, placed["id"])
    held, remaining = view["fulfillmentOrders"]["nodes"]
    assert (held["id"], held["status"], _lines(held)) == (
        original["id"],
        "ON_HOLD",
        [("BOARD-WALNUT", 3)],
    )
    assert held["fulfillmentHolds"] == [
        {
            "id": payload["fulfillmentHold"]["id"],
            "reason": "INVENTORY_OUT_OF_STOCK",
            "reasonNotes": "3 boards on backorder",
            "handle": "backorders",
            "displayReason": "Inventory out of stock",
            "heldByRequestingApp": True,
        }
    ]
    assert [a["action"] for a in held["supportedActions"]] == ["RELEASE_HOLD", "HOLD", "SPLIT"]
    assert (remaining["status"], _lines(remaining)) == ("OPEN", [("MUG-BLUE", 1)])
    assert view["displayFulfillmentStatus"] == "UNFULFILLED"

    released = api.data(RELEASE, {"id": held["id"]})["fulfillmentOrderReleaseHold"]
    assert released == {
        "fulfillmentOrder": {"id": held["id"], "status": "OPEN", "fulfillmentHolds": []},
        "userErrors": [],
    }


def test_hold_a_whole_fulfillment_order(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    payload = api.data(HOLD, {"id": original["id"], "hold": {"reason": "INVENTORY_OUT_OF_STOCK"}})
    assert payload["fulfillmentOrderHold"]["remainingFulfillmentOrder"] is None
    assert _view(api, placed["id"])["displayFulfillmentStatus"] == "ON_HOLD"
    before = snapshot(sandbox)
    again = api.data(HOLD, {"id": original["id"], "hold": {"reason": "OTHER"}})[
        "fulfillmentOrderHold"
    ]
    assert again == {
        "fulfillmentHold": None,
        "fulfillmentOrder": None,
        "remainingFulfillmentOrder": None,
        "userErrors": [
            {
                "field": ["fulfillmentHold", "handle"],
                "code": "DUPLICATE_FULFILLMENT_HOLD_HANDLE",
                "message": "The handle provided for the fulfillment hold is already in use by "
                "this app for another hold on this fulfillment order.",
            }
        ],
    }
    assert snapshot(sandbox) == before


def test_hold_refuses_more_units_than_remain_and_changes_nothing(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    board = original["lineItems"]["nodes"][1]
    before = snapshot(sandbox)
    hold = {
        "reason": "INVENTORY_OUT_OF_STOCK",
        "fulfillmentOrderLineItems": [{"id": board["id"], "quantity": 4}],
    }
    errors = api.data(HOLD, {"id": original["id"], "hold": hold})["fulfillmentOrderHold"][
        "userErrors"
    ]
    assert errors == [
        {
            "field": ["fulfillmentHold", "fulfillmentOrderLineItems", "0", "quantity"],
            "message": "The line item quantity is invalid.",
            "code": "INVALID_LINE_ITEM_QUANTITY",
        }
    ]
    assert snapshot(sandbox) == before


def test_split_keeps_the_named_units_and_moves_the_rest(
    app: Flask, api: ShopifyApi, sandbox: Any
) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    mug, board = original["lineItems"]["nodes"]
    splits = [
        {
            "fulfillmentOrderId": original["id"],
            "fulfillmentOrderLineItems": [
                {"id": mug["id"], "quantity": 1},
                {"id": board["id"], "quantity": 1},
            ],
        }
    ]
    payload = api.data(SPLIT, {"splits": splits})["fulfillmentOrderSplit"]
    assert payload["userErrors"] == []
    [result] = payload["fulfillmentOrderSplits"]
    assert result["fulfillmentOrder"]["id"] == original["id"]
    assert _lines(result["fulfillmentOrder"]) == [("MUG-BLUE", 1), ("BOARD-WALNUT", 1)]
    assert _lines(result["remainingFulfillmentOrder"]) == [("BOARD-WALNUT", 2)]
    assert result["replacementFulfillmentOrder"] is None


def test_split_refusals(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    mug, board = original["lineItems"]["nodes"]
    before = snapshot(sandbox)
    cases = [
        (
            [{"fulfillmentOrderId": original["id"], "fulfillmentOrderLineItems": []}],
            "NO_LINE_ITEMS_PROVIDED_TO_SPLIT",
        ),
        (
            [
                {
                    "fulfillmentOrderId": original["id"],
                    "fulfillmentOrderLineItems": [{"id": mug["id"], "quantity": 0}],
                }
            ],
            "GREATER_THAN",
        ),
        (
            [
                {
                    "fulfillmentOrderId": original["id"],
                    "fulfillmentOrderLineItems": [
                        {"id": mug["id"], "quantity": 1},
                        {"id": board["id"], "quantity": 3},
                    ],
                }
            ],
            "INVALID_LINE_ITEM_QUANTITY",
        ),
        (
            [
                {
                    "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/1",
                    "fulfillmentOrderLineItems": [{"id": mug["id"], "quantity": 1}],
                }
            ],
            "FULFILLMENT_ORDER_NOT_FOUND",
        ),
    ]
    for splits, code in cases:
        payload = api.data(SPLIT, {"splits": splits})["fulfillmentOrderSplit"]
        assert payload["fulfillmentOrderSplits"] is None
        assert [e["code"] for e in payload["userErrors"]] == [code]
    assert snapshot(sandbox) == before


def test_release_without_a_hold_is_refused(app: Flask, api: ShopifyApi, sandbox: Any) -> None:
    placed = _order(app, sandbox)
    [original] = _view(api, placed["id"])["fulfillmentOrders"]["nodes"]
    before = snapshot(sandbox)
    payload = api.data(RELEASE, {"id": original["id"]})["fulfillmentOrderReleaseHold"]
    assert payload == {
        "fulfillmentOrder": None,
        "userErrors": [
            {"field": ["id"], "message": "The fulfillment order is not on hold.", "code": None}
        ],
    }
    assert snapshot(sandbox) == before
