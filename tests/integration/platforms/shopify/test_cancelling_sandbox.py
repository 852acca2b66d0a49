"""Cancelling held units on Shopify (ShopifyPlatform against the sandbox as a real process):
an order edit takes units off the held fulfillment order and restocks them once, the customer
is not charged for them (the final capture is what is left to ship), the last held units go
with the order kept, an order held whole is cancelled with its authorisation voided, and every
write repeated after a crash writes nothing more."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from plugin.core.model import Policies, Status
from plugin.core.split import plan_split
from plugin.platforms.shopify.adapter import ShopifyPlatform
from plugin.platforms.shopify.client import ShopifyClient
from plugin.platforms.shopify.ids import number
from sandbox.shopify.app import DEMO_ACCESS_TOKEN
from tests.integration.platforms.shopify.test_platform_sandbox import (
    adjust,
    gid_of,
    locations,
    order_gid,
)
from tests.integration.sandbox_shopify.conftest import Shop

STATE = """query state($id: ID!) { order(id: $id) { cancelledAt displayFinancialStatus edited
  totalCapturableSet { shopMoney { amount } } totalOutstandingSet { shopMoney { amount } }
  currentTotalPriceSet { shopMoney { amount } }
  lineItems(first: 10) { nodes { sku quantity currentQuantity } }
  transactions { kind status amountSet { shopMoney { amount } } }
  fulfillmentOrders(first: 5) { nodes { id status
    lineItems(first: 10) { nodes { totalQuantity remainingQuantity lineItem { sku } } } } } } }"""
AVAILABLE = """query available($q: String) { productVariants(first: 1, query: $q) { nodes {
  inventoryItem { inventoryLevels(first: 5) { nodes { location { name }
    quantities(names: ["available", "committed"]) { name quantity } } } } } } }"""


def state(shop: Shop, order_id: str) -> dict[str, Any]:
    return dict(shop.data(STATE, {"id": gid_of(order_id)})["order"])


def warehouse(shop: Shop, sku: str) -> dict[str, int]:
    """`available` and `committed` of a SKU at the fulfilling location."""
    [variant] = shop.data(AVAILABLE, {"q": f"sku:{sku}"})["productVariants"]["nodes"]
    [level] = [
        level
        for level in variant["inventoryItem"]["inventoryLevels"]["nodes"]
        if level["location"]["name"] == "Warehouse"
    ]
    return {q["name"]: q["quantity"] for q in level["quantities"]}


def lines(answer: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(n["sku"], n["quantity"], n["currentQuantity"]) for n in answer["lineItems"]["nodes"]]


def fulfillment_orders(answer: dict[str, Any]) -> list[tuple[str, list[tuple[str, int, int]]]]:
    return [
        (
            fo["status"],
            [
                (n["lineItem"]["sku"], n["totalQuantity"], n["remainingQuantity"])
                for n in fo["lineItems"]["nodes"]
            ],
        )
        for fo in answer["fulfillmentOrders"]["nodes"]
    ]


def amounts(answer: dict[str, Any], kind: str) -> list[str]:
    return [
        t["amountSet"]["shopMoney"]["amount"] for t in answer["transactions"] if t["kind"] == kind
    ]


def split(shop: Shop, lines_: list[tuple[str, int]], payment: str) -> tuple[str, str, str]:
    """(order number, held part id, the board line's id) after the platform's split."""
    name = shop.checkout(lines_, payment=payment)
    order_id = number(order_gid(shop, name))
    platform = ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))
    order = platform.get_order(order_id)
    held_id = platform.write_split(
        order, plan_split(order, platform.get_stock(order), Policies()), backorder_order_id=None
    )
    [board] = [line.line_id for line in order.lines if line.sku == "BOARD-WALNUT"]
    return order_id, held_id, board


def platform_of(shop: Shop) -> ShopifyPlatform:
    return ShopifyPlatform(ShopifyClient(shop.url, DEMO_ACCESS_TOKEN))


def test_cancel_one_held_unit_then_release_captures_what_is_left(shop: Shop) -> None:
    order_id, held_id, board = split(shop, [("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], "card")
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -3, "committed": 3}

    total = platform_of(shop).reduce_line(held_id, board, 2, Decimal("90.00"), Decimal("90.00"))

    assert total == "90.00"
    after = state(shop, order_id)
    assert lines(after) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 3, 2)]
    assert fulfillment_orders(after) == [
        ("ON_HOLD", [("BOARD-WALNUT", 2, 2)]),
        ("OPEN", [("MUG-BLUE", 1, 1)]),
    ]
    assert after["edited"] is True
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -2, "committed": 2}
    held = platform_of(shop).get_order(held_id)
    assert held.status is Status.NEW_BACKORDER
    assert [(line.quantity, line.total) for line in held.lines] == [(2, Decimal("90.00"))]
    assert amounts(after, "CAPTURE") == ["12.0"]
    # The authorisation is not lowered by the edit; what the order owes is.
    assert after["totalCapturableSet"]["shopMoney"]["amount"] == "135.0"
    assert after["totalOutstandingSet"]["shopMoney"]["amount"] == "90.0"

    # A retry after a crash: the held quantity is 2 already, nothing is written.
    platform = platform_of(shop)
    calls = platform.calls
    assert platform.reduce_line(held_id, board, 2, Decimal("90.00"), Decimal("90.00")) == "90.00"
    assert platform.calls == calls + 2  # the held part's order, the order: reads only
    assert state(shop, order_id) == after
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -2, "committed": 2}

    # Stock arrives; the release captures what is left to ship (90.00), not the authorisation.
    adjust(shop, "BOARD-WALNUT", locations(shop)["Warehouse"], 2)
    assert platform_of(shop).release_order(held_id, "processing", "release-1") is None
    released = state(shop, order_id)
    assert amounts(released, "CAPTURE") == ["12.0", "90.0"]
    assert released["displayFinancialStatus"] == "PAID"
    assert released["totalOutstandingSet"]["shopMoney"]["amount"] == "0.0"


def test_cancel_the_last_held_units_keeps_the_order_and_its_shipped_part(shop: Shop) -> None:
    order_id, held_id, board = split(shop, [("MUG-BLUE", 1), ("BOARD-WALNUT", 3)], "card")
    platform_of(shop).reduce_line(held_id, board, 1, Decimal("45.00"), Decimal("45.00"))
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -1, "committed": 1}

    platform_of(shop).cancel_order(held_id)

    after = state(shop, order_id)
    assert after["cancelledAt"] is None
    assert lines(after) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 3, 0)]
    assert fulfillment_orders(after) == [
        ("CLOSED", [("BOARD-WALNUT", 0, 0)]),
        ("OPEN", [("MUG-BLUE", 1, 1)]),
    ]
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 0, "committed": 0}
    assert warehouse(shop, "MUG-BLUE") == {"available": 9, "committed": 1}
    assert amounts(after, "CAPTURE") == ["12.0"]
    assert amounts(after, "VOID") == []
    assert after["totalOutstandingSet"]["shopMoney"]["amount"] == "0.0"
    platform = platform_of(shop)
    assert platform.get_order(held_id).status is Status.CANCELLED
    assert [(line.sku, line.quantity) for line in platform.get_order(order_id).lines] == [
        ("MUG-BLUE", 1)
    ]
    # Repeated: nothing is held any more, nothing is written.
    platform_of(shop).cancel_order(held_id)
    assert platform_of(shop).remove_line(held_id, board) == "0"
    assert state(shop, order_id) == after
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 0, "committed": 0}


def test_an_order_held_whole_and_fully_cancelled_is_cancelled_its_authorisation_voided(
    shop: Shop,
) -> None:
    name = shop.checkout([("BOARD-WALNUT", 2)], payment="card")
    order_id = number(order_gid(shop, name))
    platform_of(shop).set_status(order_id, Status.ON_HOLD)
    assert platform_of(shop).get_order(order_id).status is Status.ON_HOLD
    assert warehouse(shop, "BOARD-WALNUT") == {"available": -2, "committed": 2}

    platform_of(shop).cancel_order(order_id)

    after = state(shop, order_id)
    assert after["cancelledAt"] is not None
    assert lines(after) == [("BOARD-WALNUT", 2, 0)]
    assert [status for status, _ in fulfillment_orders(after)] == ["CLOSED"]
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 0, "committed": 0}
    assert amounts(after, "CAPTURE") == [] and amounts(after, "VOID") == ["90.0"]
    assert amounts(after, "REFUND") == []
    assert platform_of(shop).get_order(order_id).status is Status.CANCELLED
    platform_of(shop).cancel_order(order_id)  # cancelled already: no write
    assert state(shop, order_id) == after


def test_a_paid_order_is_not_refunded_by_the_cancellation(shop: Shop) -> None:
    order_id, held_id, board = split(shop, [("MUG-BLUE", 1), ("BOARD-WALNUT", 2)], "paid")
    before = state(shop, order_id)

    assert platform_of(shop).remove_line(held_id, board) == "0"

    after = state(shop, order_id)
    assert after["transactions"] == before["transactions"]  # the merchant refunds (the note)
    assert lines(after) == [("MUG-BLUE", 1, 1), ("BOARD-WALNUT", 2, 0)]
    assert after["totalOutstandingSet"]["shopMoney"]["amount"] == "0.0"
    assert warehouse(shop, "BOARD-WALNUT") == {"available": 0, "committed": 0}
