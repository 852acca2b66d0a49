"""The linked-order split mode's mapping (plugin/platforms/shopify/linked.py): the backorder
order's `orderCreate` input, the quantities the original's edit sets, and how a linked backorder
order reads as the core's backorder order."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from plugin.core.model import (
    BackorderMode,
    PaymentAction,
    Plan,
    Policies,
    Status,
    Stock,
)
from plugin.core.split import plan_split
from plugin.errors import PermanentError
from plugin.platforms.shopify.linked import (
    SPLIT_MODES,
    edits,
    new_order_input,
    order_of,
    origin_of,
    unit_price,
)
from plugin.platforms.shopify.mapping import order_from_data

MONEY = "USD"


def _money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount, "currencyCode": MONEY}}


def _line(line: int, variant: int, item: int, quantity: int, price: str, total: str) -> Any:
    return {
        "id": f"gid://shopify/LineItem/{line}",
        "sku": f"SKU-{line}",
        "name": f"Product {line}",
        "quantity": quantity,
        "currentQuantity": quantity,
        "originalUnitPriceSet": _money(price),
        "discountedTotalSet": _money(total),
        "variant": {
            "id": f"gid://shopify/ProductVariant/{variant}",
            "inventoryPolicy": "CONTINUE",
            "inventoryItem": {"id": f"gid://shopify/InventoryItem/{item}", "tracked": True},
            "product": {"id": f"gid://shopify/Product/{variant + 1000}"},
        },
    }


def _order(financial: str = "AUTHORIZED", **extra: Any) -> dict[str, Any]:
    return {
        "id": "gid://shopify/Order/1001",
        "name": "#1042",
        "createdAt": "2025-01-02T10:00:00Z",
        "cancelledAt": None,
        "closedAt": None,
        "currencyCode": MONEY,
        "email": "ada@example.com",
        "note": None,
        "tags": [],
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": "UNFULFILLED",
        "totalPriceSet": _money("147.00"),
        "totalCapturableSet": _money("147.00"),
        "paymentGatewayNames": ["shopify_payments"],
        "customer": {"id": "gid://shopify/Customer/77", "email": "ada@example.com"},
        "lineItems": {
            "pageInfo": {"hasNextPage": False},
            "nodes": [
                _line(11, 21, 31, 1, "12.00", "12.00"),
                # 3 boards at 45.00, 0.01 off the line: 134.99, 45.00 a unit rounded.
                _line(12, 22, 32, 3, "45.00", "134.99"),
            ],
        },
        "fulfillmentOrders": {"nodes": []},
        "transactions": [],
        "metafield": None,
        "origin": None,
        **extra,
    }


def _plan(data: dict[str, Any], board_stock: int = 0) -> Plan:
    order = order_from_data(data)
    stock = {
        order.lines[0].ref: Stock(order.lines[0].ref, 5, backorders=BackorderMode.YES),
        order.lines[1].ref: Stock(order.lines[1].ref, board_stock, backorders=BackorderMode.YES),
    }
    return plan_split(order, stock, Policies())


def test_the_modes_offered_are_held_by_default_then_linked() -> None:
    assert [mode for mode, _label in SPLIT_MODES] == ["held", "linked"]


def test_the_backorder_order_input_carries_the_moved_lines_customer_and_links() -> None:
    data = _order()
    plan = _plan(data, board_stock=1)
    assert plan.split_key == "1001:1" and plan.backorder_number == "1042-001"
    order, options = new_order_input(data, plan, "Backorder 1042-001 of order 1042.")
    assert options == {"inventoryBehaviour": "BYPASS", "sendReceipt": False}
    assert order["name"] == "#1042-001"
    assert order["lineItems"] == [
        {
            "quantity": 2,
            "priceSet": {"shopMoney": {"amount": "45.00", "currencyCode": "USD"}},
            "variantId": "gid://shopify/ProductVariant/22",
            "sku": "SKU-12",
        }
    ]
    assert order["customer"] == {"toAssociate": {"id": "gid://shopify/Customer/77"}}
    assert "email" not in order
    assert order["financialStatus"] == "PENDING"  # an authorised original: pays on release
    assert order["tags"] == ["backorder", "#1042-001", "backorders-1001-1"]
    assert order["note"] == "Backorder 1042-001 of order 1042."
    [metafield] = order["metafields"]
    assert (metafield["namespace"], metafield["key"], metafield["type"]) == (
        "backorders",
        "origin",
        "json",
    )
    assert json.loads(metafield["value"]) == {
        "order": "1001",
        "name": "#1042",
        "split_key": "1001:1",
        "number": "1042-001",
    }


def test_a_paid_original_makes_a_paid_backorder_order_and_a_guest_keeps_the_email() -> None:
    data = _order("PAID", customer=None)
    plan = _plan(data)
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    order, _ = new_order_input(data, plan, "")
    assert order["financialStatus"] == "PAID"
    assert order["email"] == "ada@example.com" and "customer" not in order
    assert [line["quantity"] for line in order["lineItems"]] == [3]
    assert order["note"] == "Backorder 1042-001 of order #1042."


def test_the_edit_sets_kept_quantities_once_and_refuses_a_changed_line() -> None:
    data = _order()
    plan = _plan(data, board_stock=1)
    assert edits(data, plan) == {"12": 1}
    data["lineItems"]["nodes"][1]["currentQuantity"] = 1  # the edit was committed
    assert edits(data, plan) == {}
    data["lineItems"]["nodes"][1]["currentQuantity"] = 2  # the merchant changed it meanwhile
    with pytest.raises(PermanentError) as refused:
        edits(data, plan)
    assert refused.value.reason == "order_changed"


def test_unit_price_is_what_the_customer_pays_a_unit() -> None:
    assert unit_price(_line(1, 2, 3, 3, "45.00", "134.99"), "USD") == Decimal("45.00")
    assert unit_price(_line(1, 2, 3, 4, "10.00", "30.00"), "USD") == Decimal("7.50")
    assert unit_price(_line(1, 2, 3, 0, "10.00", "0.00"), "USD") == Decimal("10.00")


def test_a_linked_backorder_order_reads_as_the_core_backorder_order() -> None:
    origin = {"order": "1001", "name": "#1042", "split_key": "1001:1", "number": "1042-001"}
    held = _order(
        "PENDING",
        id="gid://shopify/Order/1002",
        name="#1042-001",
        displayFulfillmentStatus="ON_HOLD",
        origin={"value": json.dumps(origin)},
    )
    order = order_of(held)
    assert (order.id, order.number, order.status) == ("1002", "1042-001", Status.NEW_BACKORDER)
    assert (order.links.parent_id, order.links.is_backorder_order) == ("1001", True)
    released = order_of({**held, "displayFulfillmentStatus": "UNFULFILLED"})
    assert released.status is Status.NEW
    plain = order_of(_order())
    assert not plain.links.is_backorder_order and plain.number == "1042"
    assert origin_of(_order(origin={"value": "not json"})) is None
    assert origin_of(_order(origin={"value": json.dumps({"number": "x"})})) is None
