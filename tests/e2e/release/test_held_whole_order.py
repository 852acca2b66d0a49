"""The running stack releases an order that waited whole (issue 13, bug 2): a whole-order
customer's order with a short line is put On Hold and recorded; when stock arrives (a
`product.updated` webhook from the store), allocation releases it once, for payment when it
was not paid (`pending` with the payment link), like a backorder order."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

import run
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.core.model import CustomerPolicy, DeliveryCondition
from plugin.ports import ReleaseState
from plugin.usecases.releasing import release_key
from tests.e2e.helpers import Api, Jobs, PluginDb, create_order, settle, wait_for

pytestmark = pytest.mark.e2e


def _restock(api: Api, product_id: int, figure: int) -> None:
    """Set the product's stock figure, in a later second than its last change: the inbox keeps
    one event per product and `date_modified_gmt` (whole seconds), so a second change within
    the same second would reach the plugin only with the next reconciliation."""
    last = dt.datetime.fromisoformat(api.get(f"/products/{product_id}")["date_modified_gmt"])
    wait_for(
        lambda: dt.datetime.now(dt.UTC).replace(microsecond=0, tzinfo=None) > last,
        what="a second after the product's last change",
    )
    api.put(f"/products/{product_id}", {"stock_quantity": figure})


def _released_notes(api: Api, order_id: int) -> int:
    return sum(n["note"].startswith("Backorders released this order") for n in api.notes(order_id))


def test_a_whole_order_waiting_on_hold_is_released_once_when_stock_arrives(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    customer = api.post("/customers", {"email": f"whole-{tag}@example.com", "first_name": "Wh"})
    plugin_db.policies.set_customer_policy(
        store_id,
        CustomerPolicy(str(customer["id"]), delivery_condition=DeliveryCondition.WHOLE_ORDER),
    )
    kettle = api.create_product(f"Kettle {tag}", price="40.00", stock=0, backorders="yes")
    mug = api.create_product(f"Mug {tag}", price="5.00", stock=20, backorders="no")

    # Bank transfer: unpaid, on-hold; one mug in stock, two kettles short.
    order = create_order(
        api, [(mug["id"], 1), (kettle["id"], 2)], status="on-hold", set_paid=False,
        customer_id=customer["id"],
    )  # fmt: skip
    order_id = order["id"]
    hold = wait_for(
        lambda: [
            r for r in plugin_db.ledger.for_order(store_id, str(order_id)) if r.state == "done"
        ],
        what="the order recorded as waiting whole",
    )
    assert [(r.split_key, r.backorder_order_id) for r in hold] == [(f"hold:{order_id}", None)]
    settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id)
    assert api.order(order_id)["status"] == "on-hold"
    assert api.children(order_id) == []
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == -2  # its units wait

    # One kettle arrives: a whole order is not released in part.
    _restock(api, kettle["id"], -1)
    settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id)
    assert api.order(order_id)["status"] == "on-hold"
    assert SqlReleaseLedger(plugin_db.db).for_order(store_id, str(order_id)) == []

    # The second arrives: released once, for payment.
    _restock(api, kettle["id"], 0)
    released = wait_for(
        lambda: (o := api.order(order_id))["status"] == "pending" and o,
        what="the held order released for payment",
    )
    assert "/checkout/order-pay/" in released["payment_url"]
    settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id)
    record = SqlReleaseLedger(plugin_db.db).get(store_id, release_key(str(order_id)))
    assert record is not None
    assert (record.state, record.target_status, record.payment_url) == (
        ReleaseState.DONE, "pending", released["payment_url"],
    )  # fmt: skip
    assert _released_notes(api, order_id) == 1
    assert [(i["product_id"], i["quantity"]) for i in released["line_items"]] == [
        (mug["id"], 1), (kettle["id"], 2),
    ]  # fmt: skip
    assert api.children(order_id) == []  # released whole: nothing split off

    # Another stock change releases nothing twice; the customer pays and the figure is right.
    _restock(api, kettle["id"], 1)
    settle(stack.sandbox_url, plugin_db, jobs, store_id, order_id)
    assert SqlReleaseLedger(plugin_db.db).for_order(store_id, str(order_id)) == [record]
    assert _released_notes(api, order_id) == 1
    api.put(f"/orders/{order_id}", {"status": "processing", "set_paid": True})
    assert api.get(f"/products/{kettle['id']}")["stock_quantity"] == -1
    assert jobs.failed_ids() == []
