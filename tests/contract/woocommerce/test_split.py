"""Writing a split through the platform adapter, and its retry, on the sandbox and a real store:
the core planner decides, the adapter writes, the store's own answers are checked."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from plugin.core.model import Outcome, PaymentAction, Policies, ProductRef, Status
from plugin.core.split import plan_split
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop


def _meta(order: dict[str, Any], key: str) -> Any:
    values = [m["value"] for m in order["meta_data"] if m["key"] == key]
    return values[-1] if values else None


def _quantities(order: dict[str, Any]) -> dict[int, int]:
    return {int(item["product_id"]): int(item["quantity"]) for item in order["line_items"]}


def _totals(order: dict[str, Any]) -> dict[int, Decimal]:
    return {int(item["product_id"]): Decimal(item["total"]) for item in order["line_items"]}


def test_split_then_retry(woo: StoreUnderTest, shop: Shop) -> None:
    short = shop.product("Short", price="10.00", stock=2, backorders="notify")  # 5 ordered
    plenty = shop.product("Plenty", price="5.00", stock=10)
    none_left = shop.product("None left", price="8.00", stock=0, backorders="yes")  # moves whole
    ids = (short["id"], plenty["id"], none_left["id"])
    order = shop.order(
        [{"product_id": short["id"], "quantity": 5}, {"product_id": plenty["id"], "quantity": 1},
         {"product_id": none_left["id"], "quantity": 2}],
        shipping_lines=[{"method_id": "flat_rate", "method_title": "Flat rate", "total": "10.00"}],
    )  # fmt: skip
    order_id = str(order["id"])
    assert order["status"] == "processing"
    stock_before = {p: shop.stock(p) for p in ids}
    assert stock_before == {short["id"]: -3, plenty["id"]: 9, none_left["id"]: -2}

    platform = woo.platform()
    original = platform.get_order(order_id)
    assert original.status is Status.NEW
    stock = platform.get_stock(original)
    assert [stock[ProductRef(str(p))].available for p in ids] == [2, 10, 0]
    plan = plan_split(original, stock, Policies())
    assert plan.outcome is Outcome.SPLIT
    assert plan.payment is PaymentAction.PAID_FROM_ORIGINAL
    backorder_id = platform.write_split(
        original, plan, backorder_order_id=None, summary="Backorder of the test order"
    )
    shop.adopt(backorder_id)
    platform.add_note(order_id, f"Split: {plan.backorder_number} holds the backordered units")
    assert platform.calls == 4  # GET order, GET products, POST orders/batch, POST note

    after = shop.get_order(order_id)
    backorder = shop.get_order(backorder_id)
    assert _quantities(after) == {short["id"]: 2, plenty["id"]: 1}
    assert _quantities(backorder) == {short["id"]: 3, none_left["id"]: 2}
    assert _totals(after) == {short["id"]: Decimal("20.00"), plenty["id"]: Decimal("5.00")}
    assert _totals(backorder) == {short["id"]: Decimal("30.00"), none_left["id"]: Decimal("16.00")}
    assert Decimal(after["total"]) == Decimal("35.00")  # 20 + 5 + shipping 10
    assert Decimal(backorder["total"]) == Decimal("46.00")
    assert (backorder["status"], backorder["parent_id"]) == ("on-hold", int(order_id))
    assert (backorder["payment_method"], backorder["billing"]) == ("bacs", order["billing"])
    assert [_meta(backorder, k) for k in ("backorders_role", "backorders_split_key",
                                          "backorders_number", "backorders_payment",
                                          "backorders_summary")] == [
        "backorder", plan.split_key, f"{order['number']}-001", "paid_from_original",
        "Backorder of the test order",
    ]  # fmt: skip
    assert [json.loads(_meta(line, "backorders_original_line") or "null") for line in
            backorder["line_items"]] == [int(line.line_id) for line in original.lines
                                         if line.product_id != str(plenty["id"])]  # fmt: skip
    assert _meta(after, "backorders_role") == "original"
    assert _meta(after, "backorders_split_keys") == json.dumps([plan.split_key])
    # Stock: the original gave back 3 + 2, the on-hold backorder order took them again.
    assert {p: shop.stock(p) for p in ids} == stock_before
    assert [n["note"] for n in shop.notes(order_id) if n["note"].startswith("Split:")] == [
        f"Split: {plan.backorder_number} holds the backordered units"
    ]
    # The summary cost no note call: only the store's own notes are on the backorder order.
    # The summary cost no note call: the backorder order holds only the store's own notes.
    # (Up to the colon: a real store names each product of a stock note with its SKU.)
    assert sorted(n["note"].split(":")[0] for n in shop.notes(backorder_id)) == [
        "Order status changed from Pending payment to On hold.", "Stock levels reduced",
    ]  # fmt: skip

    # The backorder order maps as New Backorder, paid from the original; the original links it.
    mapped_backorder = platform.get_order(backorder_id)
    assert mapped_backorder.status is Status.NEW_BACKORDER
    assert mapped_backorder.payment_state.value == "paid"
    assert mapped_backorder.links.parent_id == order_id
    assert mapped_backorder.links.is_backorder_order
    assert platform.get_order(order_id).links.split_count == 1

    # A retry after a crash finds the backorder order and only re-applies the original's update.
    retry = woo.platform()
    assert retry.find_backorder_order(order_id, str(plan.split_key)) == backorder_id
    current = retry.get_order(order_id)
    assert retry.write_split(current, plan, backorder_order_id=backorder_id) == backorder_id
    assert retry.calls == 3  # find, GET order, PUT original
    again = shop.get_order(order_id)
    assert _quantities(again) == {short["id"]: 2, plenty["id"]: 1}
    assert _meta(again, "backorders_split_keys") == json.dumps([plan.split_key])
    assert {p: shop.stock(p) for p in ids} == stock_before
    assert [int(c["id"]) for c in shop.children(order_id)] == [int(backorder_id)]
    assert retry.find_backorder_order(order_id, "another:key") is None
    assert retry.backorder_numbers(order_id) == [f"{order['number']}-001"]

    # Reconciliation sees both orders.
    since = original.created_at.replace(year=2000)
    seen = {change.order_id for change in retry.orders_modified_since(since)}
    assert {order_id, backorder_id} <= seen


def test_unpaid_order_split_charges_on_release(woo: StoreUnderTest, shop: Shop) -> None:
    short = shop.product("Short", price="9.00", stock=1, backorders="notify")
    order = shop.order([{"product_id": short["id"], "quantity": 3}], status="on-hold", paid=False)
    platform = woo.platform()
    original = platform.get_order(str(order["id"]))
    assert (original.status, original.payment_state.value) == (Status.ON_HOLD, "unpaid")
    plan = plan_split(original, platform.get_stock(original), Policies())
    assert plan.payment is PaymentAction.CHARGE_ON_RELEASE

    backorder_id = platform.write_split(original, plan, backorder_order_id=None)
    shop.adopt(backorder_id)

    backorder = shop.get_order(backorder_id)
    assert (backorder["status"], backorder["date_paid_gmt"]) == ("on-hold", None)
    assert _meta(backorder, "backorders_payment") == "charge_on_release"
    assert _quantities(backorder) == {short["id"]: 2}
    assert _quantities(shop.get_order(order["id"])) == {short["id"]: 1}
    assert shop.stock(short["id"]) == -2
