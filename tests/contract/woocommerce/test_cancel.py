"""Cancelling a backorder line, or a whole held order, through the platform adapter, on the
sandbox and a real store: the line goes, its stock comes back, nothing else changes."""

from __future__ import annotations

from decimal import Decimal

from plugin.core.model import Status
from tests.contract.woocommerce.conftest import StoreUnderTest
from tests.contract.woocommerce.shop import Shop


def test_remove_a_line_gives_its_stock_back_once(woo: StoreUnderTest, shop: Shop) -> None:
    widget = shop.product("Widget", price="10.00", stock=0, backorders="yes")
    pen = shop.product("Pen", price="3.00", stock=0, backorders="yes")
    held = shop.order(
        [{"product_id": widget["id"], "quantity": 2,
          "meta_data": [{"key": "backorders_original_line", "value": "501"}]},
         {"product_id": pen["id"], "quantity": 1,
          "meta_data": [{"key": "backorders_original_line", "value": "502"}]}],
        status="on-hold", paid=False,
    )  # fmt: skip
    widget_line, pen_line = (str(item["id"]) for item in held["line_items"])
    assert [shop.stock(p) for p in (widget["id"], pen["id"])] == [-2, -1]
    platform = woo.platform()
    read = platform.get_order(str(held["id"]))
    assert read.status is Status.ON_HOLD
    assert platform.original_line_ids(str(held["id"])) == {widget_line: "501", pen_line: "502"}

    total = platform.remove_line(str(held["id"]), pen_line)

    after = shop.get_order(held["id"])
    assert [str(item["id"]) for item in after["line_items"]] == [widget_line]
    assert total == after["total"] and Decimal(total) == Decimal("20.00")
    assert [shop.stock(p) for p in (widget["id"], pen["id"])] == [-2, 0]
    # Again: the line is gone, nothing is sent, the stock stays.
    again = woo.platform()
    assert again.remove_line(str(held["id"]), pen_line) == after["total"]
    assert again.calls == 1
    assert [shop.stock(p) for p in (widget["id"], pen["id"])] == [-2, 0]


def test_cancel_a_held_order_restores_its_stock(woo: StoreUnderTest, shop: Shop) -> None:
    widget = shop.product("Widget", stock=0, backorders="yes")
    held = shop.order([{"product_id": widget["id"], "quantity": 2}], status="on-hold", paid=False)
    done = shop.order([{"product_id": widget["id"], "quantity": 1}], status="completed")
    assert shop.stock(widget["id"]) == -3
    platform = woo.platform()

    platform.cancel_order(str(held["id"]))
    platform.cancel_order(str(done["id"]))  # not on hold: left alone

    assert shop.get_order(held["id"])["status"] == "cancelled"
    assert shop.get_order(done["id"])["status"] == "completed"
    assert shop.stock(widget["id"]) == -1
    assert platform.calls == 3  # two reads, one write
    platform.cancel_order(str(held["id"]))
    assert platform.calls == 4 and shop.stock(widget["id"]) == -1


def test_set_status(woo: StoreUnderTest, shop: Shop) -> None:
    widget = shop.product("Widget", stock=5)
    order = shop.order([{"product_id": widget["id"], "quantity": 1}], status="pending", paid=False)
    platform = woo.platform()

    platform.set_status(str(order["id"]), "on_hold")

    assert shop.get_order(order["id"])["status"] == "on-hold"
    assert platform.get_order(str(order["id"])).status is Status.ON_HOLD
    assert shop.stock(widget["id"]) == 4  # pending -> on-hold reduces stock
