"""Splitting a partly released backorder order again through the platform adapter, on the
sandbox and a real store."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from plugin.core.model import StoreSettings
from plugin.core.split import plan_resplit
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop


def _meta(order: dict[str, Any]) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in order["meta_data"]}


def _lines(order: dict[str, Any]) -> list[tuple[int, int, str, str]]:
    return [(int(i["product_id"]), int(i["quantity"]), i["subtotal"], i["total"])
            for i in order["line_items"]]  # fmt: skip


def test_write_resplit_creates_the_sibling_and_reduces_the_backorder_order_once(
    woo: StoreUnderTest, shop: Shop
) -> None:
    widget = shop.product("Widget", price="10.00", stock=0, backorders="yes")
    gadget = shop.product("Gadget", price="4.00", stock=0, backorders="notify")
    original = shop.order([], status="processing", paid=True)
    # The backorder order as a first split leaves it: on-hold, 3 widgets (27.00 after a 3.00
    # discount) and 2 gadgets, paid from the original.
    held = shop.order(
        [{"product_id": widget["id"], "quantity": 3, "subtotal": "30.00", "total": "27.00",
          "meta_data": [{"key": "backorders_original_line", "value": "71"}]},
         {"product_id": gadget["id"], "quantity": 2, "subtotal": "8.00", "total": "8.00",
          "meta_data": [{"key": "backorders_original_line", "value": "72"}]}],
        status="on-hold", paid=False, parent_id=original["id"],
        meta_data=[{"key": "backorders_split_key", "value": f"{original['id']}:1"},
                   {"key": "backorders_role", "value": "backorder"},
                   {"key": "backorders_number", "value": f"{original['number']}-001"},
                   {"key": "backorders_payment", "value": "paid_from_original"},
                   {"key": "backorders_delivery", "value": "ship_available"}],
    )  # fmt: skip
    assert [shop.stock(p) for p in (widget["id"], gadget["id"])] == [-3, -2]
    platform = woo.platform()
    backorder = platform.get_order(str(held["id"]))
    widget_line, gadget_line = (str(item["id"]) for item in held["line_items"])
    assert platform.backorder_numbers(str(original["id"])) == [f"{original['number']}-001"]
    plan = plan_resplit(
        backorder,
        {widget_line: 2, gadget_line: 0},  # 2 widgets arrived; no gadget
        original_number=str(original["number"]),
        taken_numbers=platform.backorder_numbers(str(original["id"])),
        settings=StoreSettings(),
    )

    new_id = platform.write_resplit(backorder, plan, new_order_id=None)
    shop.adopt(new_id)

    created = shop.get_order(new_id)
    reduced = shop.get_order(held["id"])
    assert (created["parent_id"], created["status"]) == (original["id"], "on-hold")
    assert (created["payment_method"], created["payment_method_title"]) == (
        "bacs", "Direct bank transfer",
    )  # fmt: skip
    assert created["billing"] == held["billing"]
    assert _lines(created) == [
        (widget["id"], 1, "10.00", "9.00"), (gadget["id"], 2, "8.00", "8.00"),
    ]  # fmt: skip
    # Each line names the line of the order it was split from, as the re-split plan does.
    assert [_meta(i)["backorders_original_line"] for i in created["line_items"]] == [
        widget_line, gadget_line,
    ]  # fmt: skip
    assert sorted(platform.original_line_ids(new_id).values()) == sorted([widget_line, gadget_line])
    meta = _meta(created)
    number = f"{original['number']}-002"
    assert [meta[k] for k in ("backorders_split_key", "backorders_role", "backorders_number",
                              "backorders_payment", "backorders_delivery")] == [
        f"resplit:{held['id']}", "backorder", number, "paid_from_original", "ship_available",
    ]  # fmt: skip
    assert dt.datetime.fromisoformat(meta["backorders_waiting_since"]) == backorder.created_at
    assert _lines(reduced) == [(widget["id"], 2, "20.00", "18.00")]
    assert reduced["status"] == "on-hold"
    assert _meta(reduced)["backorders_resplit_key"] == f"resplit:{held['id']}"
    assert _meta(reduced)["backorders_number"] == f"{original['number']}-001"
    assert Decimal(reduced["total"]) + Decimal(created["total"]) == Decimal(held["total"])
    # The new order took its units and the reduced lines gave them back: figures unchanged.
    assert [shop.stock(p) for p in (widget["id"], gadget["id"])] == [-3, -2]
    assert platform.find_backorder_order(str(original["id"]), f"resplit:{held['id']}") == new_id
    assert sorted(platform.backorder_numbers(str(original["id"]))) == [
        f"{original['number']}-001", number,
    ]  # fmt: skip
    assert platform.waiting_since(new_id) == backorder.created_at
    assert platform.waiting_since(str(held["id"])) is None  # made by a first split

    # A retry that found the new order only sets the quantities again: nothing changes.
    again = platform.get_order(str(held["id"]))
    assert platform.write_resplit(again, plan, new_order_id=new_id) == new_id
    assert len(shop.children(original["id"])) == 2
    assert _lines(shop.get_order(held["id"])) == [(widget["id"], 2, "20.00", "18.00")]
    assert [shop.stock(p) for p in (widget["id"], gadget["id"])] == [-3, -2]
