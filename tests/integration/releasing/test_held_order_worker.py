"""A real worker process and the sandbox store: a whole-order customer's order with a short line
waits On Hold, recorded (`hold:<id>`); stock arriving in part releases nothing, stock covering
it releases it once (issue 13, bug 2)."""

from __future__ import annotations

from typing import Any

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from plugin.adapters.queue.jobs import QUEUE_NAME
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.models import Release
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.model import CustomerPolicy, DeliveryCondition
from plugin.platforms.woocommerce.fingerprint import order_fingerprint
from tests.integration.releasing.test_release_worker import release_notes, status
from tests.integration.worker.conftest import Instance, Sandbox, wait_until


def allocate_now(instance: Instance, product_id: int, name: str) -> Any:
    """Run one allocation job of the product and wait until it finished."""
    queue = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer)
    job = queue.enqueue_call(
        "worker.allocate_product", args=(instance.store_id, str(product_id)), job_id=name
    )
    wait_until(lambda: job.get_status(refresh=True) == "finished", 30, f"job {name}")
    return job.return_value(refresh=True)


def releases(instance: Instance) -> list[tuple[str, str, str]]:
    with instance.db.session() as session:
        rows = session.scalars(select(Release).order_by(Release.id)).all()
        return [(r.order_id, r.target_status, r.state) for r in rows]


def test_a_whole_order_waiting_on_hold_is_released_once_when_its_stock_arrives(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-held-1")
    client = sandbox.client()
    widget = client.post(
        "/products",
        {"name": "Widget", "regular_price": "10.00", "manage_stock": True,
         "stock_quantity": 0, "backorders": "yes"},
    )  # fmt: skip
    gadget = client.post(
        "/products",
        {"name": "Gadget", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 50},
    )
    customer = client.post("/customers", {"email": "whole@example.com"})
    SqlPolicyStore(instance.db).set_customer_policy(
        instance.store_id,
        CustomerPolicy(str(customer["id"]), delivery_condition=DeliveryCondition.WHOLE_ORDER),
    )
    order = client.post(
        "/orders",
        {"customer_id": customer["id"], "status": "processing", "set_paid": True,
         "payment_method": "stripe",
         "line_items": [{"product_id": widget["id"], "quantity": 2},
                        {"product_id": gadget["id"], "quantity": 1}]},
    )  # fmt: skip
    order_id = str(order["id"])
    event = instance.add_event(order_id, order["date_modified_gmt"])
    wait_until(lambda: instance.event(event).status == "done", 30, "the hold")

    assert status(sandbox, order["id"]) == "on-hold"
    [hold] = SqlSplitLedger(instance.db).for_order(instance.store_id, order_id)
    assert (hold.split_key, hold.state, hold.backorder_order_id) == (
        f"hold:{order_id}", "done", None,
    )  # fmt: skip
    assert client.get(f"/products/{widget['id']}")["stock_quantity"] == -2  # its units wait
    # Our own status change comes back as an event: left to allocation.
    held = client.get_order(order["id"])  # possibly saved within the second of the first event
    again = instance.add_event(
        order_id, held["date_modified_gmt"], "order.updated", fingerprint=order_fingerprint(held)
    )
    wait_until(lambda: instance.event(again).status == "ignored", 30, "the repeat event")
    assert list(client.list_orders(parent=[order["id"]])) == []

    client.put(f"/products/{widget['id']}", {"stock_quantity": -1})  # 1 of 2 arrives
    assert allocate_now(instance, widget["id"], "allocate-part") == []
    assert status(sandbox, order["id"]) == "on-hold"  # a whole order is never released in part
    assert releases(instance) == []

    product = client.put(f"/products/{widget['id']}", {"stock_quantity": 0})  # the second
    instance.add_event(str(widget["id"]), product["date_modified_gmt"], "product.updated")
    wait_until(lambda: releases(instance) == [(order_id, "processing", "done")], 30, "release")

    assert status(sandbox, order["id"]) == "processing"
    assert release_notes(sandbox, order["id"]) == 1
    assert client.get(f"/products/{widget['id']}")["stock_quantity"] == 0
    assert [line["quantity"] for line in client.get_order(order["id"])["line_items"]] == [2, 1]
    # Stock changing again releases nothing twice.
    assert allocate_now(instance, widget["id"], "allocate-again") == []
    assert releases(instance) == [(order_id, "processing", "done")]
    assert release_notes(sandbox, order["id"]) == 1
    trail = [e.message for e in SqlAuditLog(instance.db).for_order(instance.store_id, order_id)]
    assert any(m.startswith("Order put On Hold: it waits whole for stock") for m in trail)
    assert sum(m.startswith("Released: Backorder Approved") for m in trail) == 1
