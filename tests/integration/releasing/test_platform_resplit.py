"""WooCommercePlatform's re-split calls against the sandbox store (real HTTP on loopback)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from plugin.connectors.woocommerce.platform import WooCommercePlatform
from plugin.core.model import StoreSettings
from plugin.core.split import plan_resplit
from tests.integration.worker.conftest import Sandbox


def _meta(order: dict[str, Any]) -> dict[str, Any]:
    return {m["key"]: m["value"] for m in order["meta_data"]}


def _held_backorder(sandbox: Sandbox) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    """An original and its backorder order as a first split leaves them: on-hold, 3 widgets
    (27.00 after a 3.00 discount) and 2 gadgets, paid from the original."""
    client = sandbox.client()
    widget = client.post("/products", {"name": "Widget", "regular_price": "10.00",
                                       "manage_stock": True, "stock_quantity": 0,
                                       "backorders": "yes"})  # fmt: skip
    gadget = client.post("/products", {"name": "Gadget", "regular_price": "4.00",
                                       "manage_stock": True, "stock_quantity": 0,
                                       "backorders": "notify"})  # fmt: skip
    original = client.post("/orders", {"status": "processing", "set_paid": True,
                                       "payment_method": "bacs",
                                       "payment_method_title": "Direct bank transfer",
                                       "billing": {"first_name": "Ann", "email": "ann@example.com"},
                                       "line_items": []})  # fmt: skip
    backorder = client.post(
        "/orders",
        {"parent_id": original["id"], "status": "on-hold", "payment_method": "bacs",
         "payment_method_title": "Direct bank transfer",
         "billing": {"first_name": "Ann", "email": "ann@example.com"},
         "line_items": [
             {"product_id": widget["id"], "quantity": 3, "subtotal": "30.00", "total": "27.00",
              "meta_data": [{"key": "backorders_original_line", "value": "71"}]},
             {"product_id": gadget["id"], "quantity": 2, "subtotal": "8.00", "total": "8.00",
              "meta_data": [{"key": "backorders_original_line", "value": "72"}]},
         ],
         "meta_data": [
             {"key": "backorders_split_key", "value": f"{original['id']}:1"},
             {"key": "backorders_role", "value": "backorder"},
             {"key": "backorders_number", "value": f"{original['number']}-001"},
             {"key": "backorders_payment", "value": "paid_from_original"},
             {"key": "backorders_delivery", "value": "ship_available"},
         ]},
    )  # fmt: skip
    return original, backorder, [widget["id"], gadget["id"]]


def test_write_resplit_creates_the_sibling_and_reduces_the_backorder_order_once(
    sandbox: Sandbox,
) -> None:
    client = sandbox.client()
    original, held, (widget, gadget) = _held_backorder(sandbox)
    assert [client.get(f"/products/{p}")["stock_quantity"] for p in (widget, gadget)] == [-3, -2]
    platform = WooCommercePlatform(client)
    backorder = platform.get_order(str(held["id"]))
    widget_line, gadget_line = (str(item["id"]) for item in held["line_items"])
    assert platform.backorder_numbers(str(original["id"])) == [f"{original['number']}-001"]
    plan = plan_resplit(
        backorder,
        {widget_line: 2, gadget_line: 0},  # 2 widgets arrived; no gadget
        original_number=original["number"],
        taken_numbers=platform.backorder_numbers(str(original["id"])),
        settings=StoreSettings(),
    )

    new_id = platform.write_resplit(backorder, plan, new_order_id=None)

    created = client.get_order(new_id)
    reduced = client.get_order(held["id"])
    assert created["parent_id"] == original["id"]
    assert created["status"] == "on-hold"
    assert created["payment_method"] == "bacs"
    assert created["payment_method_title"] == "Direct bank transfer"
    assert created["billing"]["email"] == "ann@example.com"
    assert [(i["product_id"], i["quantity"], i["subtotal"], i["total"])
            for i in created["line_items"]] == [
        (widget, 1, "10.00", "9.00"), (gadget, 2, "8.00", "8.00"),
    ]  # fmt: skip
    # Each line names the line of the order it was split from, as the re-split plan does.
    assert [_meta(i)["backorders_original_line"] for i in created["line_items"]] == [
        widget_line, gadget_line,
    ]  # fmt: skip
    assert sorted(platform.original_line_ids(new_id).values()) == sorted([widget_line, gadget_line])
    meta = _meta(created)
    number = f"{original['number']}-002"
    assert (meta["backorders_split_key"], meta["backorders_role"], meta["backorders_number"],
            meta["backorders_payment"], meta["backorders_delivery"]) == (
        f"resplit:{held['id']}", "backorder", number, "paid_from_original", "ship_available",
    )  # fmt: skip
    since = dt.datetime.fromisoformat(meta["backorders_waiting_since"])
    assert since == backorder.created_at
    assert [(i["product_id"], i["quantity"], i["total"]) for i in reduced["line_items"]] == [
        (widget, 2, "18.00")
    ]
    assert reduced["status"] == "on-hold"
    assert _meta(reduced)["backorders_resplit_key"] == f"resplit:{held['id']}"
    assert _meta(reduced)["backorders_number"] == f"{original['number']}-001"
    assert Decimal(reduced["total"]) + Decimal(created["total"]) == Decimal(held["total"])
    # The new order took its units and the reduced lines gave them back: figures unchanged.
    assert [client.get(f"/products/{p}")["stock_quantity"] for p in (widget, gadget)] == [-3, -2]
    assert platform.find_backorder_order(str(original["id"]), f"resplit:{held['id']}") == new_id
    assert sorted(platform.backorder_numbers(str(original["id"]))) == [
        f"{original['number']}-001", number,
    ]  # fmt: skip
    assert platform.waiting_since(new_id) == backorder.created_at
    assert platform.waiting_since(str(held["id"])) is None  # made by a first split

    # A retry that found the new order only sets the quantities again: nothing changes.
    again = platform.get_order(str(held["id"]))
    assert platform.write_resplit(again, plan, new_order_id=new_id) == new_id
    assert len(list(client.list_orders(parent=[original["id"]]))) == 2
    assert [
        (i["product_id"], i["quantity"]) for i in client.get_order(held["id"])["line_items"]
    ] == [(widget, 2)]
    assert [client.get(f"/products/{p}")["stock_quantity"] for p in (widget, gadget)] == [-3, -2]
