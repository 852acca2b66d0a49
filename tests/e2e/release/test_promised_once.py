"""The running stack never promises a unit twice (issue 13, bug 1): units released to an unpaid
order (`pending`, given back to the store's figure by WooCommerce) are held back from the next
order's split, so when the first customer pays, the figure is exactly what open backorder
orders explain."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import run
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.ports import ReleaseState
from plugin.usecases.releasing import release_key
from tests.e2e.helpers import Api, Jobs, PluginDb, Shop, meta, settle, wait_for

pytestmark = pytest.mark.e2e


def _split(api: Api, plugin_db: PluginDb, store_id: int, order_id: int) -> dict[str, Any]:
    """The backorder order of `order_id`, once its split is done."""

    def done() -> dict[str, Any] | None:
        records = plugin_db.ledger.for_order(store_id, str(order_id))
        if not records or records[0].state != "done":
            return None
        children = api.children(order_id)
        return children[0] if len(children) == 1 else None

    return wait_for(done, what=f"split of order {order_id}")


def _lines(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [(item["product_id"], item["quantity"]) for item in order["line_items"]]


def _waiting(api: Api, product_id: int) -> int:
    """Units of the product on open (on-hold) backorder orders: what a negative figure owes."""
    return sum(
        item["quantity"]
        for order in api.get("/orders", status="on-hold", per_page=100)
        if meta(order, "backorders_role") == "backorder"
        for item in order["line_items"]
        if item["product_id"] == product_id
    )


def test_units_released_to_an_unpaid_order_are_not_sold_again(
    stack: run.Stack, api: Api, shop: Shop, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    widget = api.create_product(f"Widget {tag}", price="10.00", stock=0, backorders="yes")
    mug = api.create_product(f"Mug {tag}", price="5.00", stock=50, backorders="no")

    # The first customer pays by bank transfer (unpaid, on-hold); the widgets go on backorder.
    first_id, _ = shop.place_order([(widget["id"], 2), (mug["id"], 1)], "bacs")
    first_backorder = _split(api, plugin_db, store_id, first_id)
    assert _lines(first_backorder) == [(widget["id"], 2)]
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -2

    # Two widgets arrive; the backorder order is released for payment (pending): WooCommerce
    # gives its units back to the figure, which now shows 2 that are promised.
    api.put(f"/products/{widget['id']}", {"stock_quantity": 0})
    wait_for(
        lambda: api.order(first_backorder["id"])["status"] == "pending",
        what="the first backorder order released for payment",
    )
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == 2

    # A second customer pays by card for the same: the split holds the promised units back.
    with Shop(stack.sandbox_url) as second_shopper:
        second_id, _ = second_shopper.place_order([(widget["id"], 2), (mug["id"], 1)], "card")
    second_backorder = _split(api, plugin_db, store_id, second_id)
    assert _lines(api.order(second_id)) == [(mug["id"], 1)]
    assert _lines(second_backorder) == [(widget["id"], 2)]
    assert second_backorder["status"] == "on-hold"
    assert meta(second_backorder, "backorders_payment") == "paid_from_original"
    note = "2 units in stock are promised to released backorder orders awaiting payment"
    assert any(note in n["note"] for n in api.notes(second_id))

    # The first customer pays (the gateway completes the payment behind the payment link).
    api.put(f"/orders/{first_backorder['id']}", {"status": "processing", "set_paid": True})
    settle(stack.sandbox_url, plugin_db, jobs, store_id, second_id)

    figure = api.get(f"/products/{widget['id']}")["stock_quantity"]
    assert figure == -2
    assert _waiting(api, widget["id"]) == 2  # the second customer's backorder: no shortfall
    assert api.order(second_backorder["id"])["status"] == "on-hold"  # nothing arrived for it
    released = SqlReleaseLedger(plugin_db.db).get(store_id, release_key(str(first_backorder["id"])))
    assert released is not None and released.state == ReleaseState.SETTLED  # paid: not held

    # Two more arrive: they go to the second customer's backorder order.
    api.put(f"/products/{widget['id']}", {"stock_quantity": 0})
    wait_for(
        lambda: api.order(second_backorder["id"])["status"] == "processing",
        what="the second backorder order released",
    )
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == 0
    assert _waiting(api, widget["id"]) == 0
