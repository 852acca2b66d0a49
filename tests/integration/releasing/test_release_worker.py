"""Real worker processes release backorder orders in the sandbox store when stock arrives."""

from __future__ import annotations

import time
from typing import Any

from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import select

from plugin.core.model import CustomerPolicy
from plugin.dispatch import QUEUE_NAME
from plugin.storage.models import Release
from plugin.storage.repositories import SqlPolicyStore
from tests.integration.worker.conftest import Instance, Sandbox, wait_until


def backordered_world(instance: Instance, sandbox: Sandbox) -> dict[str, Any]:
    """Customers priority 0 (paid, oldest), 10 (unpaid), 5 (paid) each split 2 widgets to a
    backorder order; widgets have no stock. Returns ids by customer letter."""
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
    policies = SqlPolicyStore(instance.db)
    world: dict[str, Any] = {"widget": widget["id"]}
    events = []
    for letter, priority, paid in (("a", 0, True), ("b", 10, False), ("c", 5, True)):
        customer = client.post("/customers", {"email": f"{letter}@example.com"})
        policies.set_customer_policy(
            instance.store_id, CustomerPolicy(str(customer["id"]), priority=priority)
        )
        order = client.post(
            "/orders",
            {"customer_id": customer["id"], "status": "processing" if paid else "pending",
             "set_paid": paid, "payment_method": "bacs",
             "line_items": [{"product_id": widget["id"], "quantity": 2},
                            {"product_id": gadget["id"], "quantity": 1}]},
        )  # fmt: skip
        world[letter] = order["id"]
        events.append(instance.add_event(str(order["id"]), order["date_modified_gmt"]))
    wait_until(lambda: all(instance.event(e).status == "done" for e in events), 60, "three splits")
    for letter in "abc":
        children = list(client.list_orders(parent=[world[letter]]))
        assert [c["status"] for c in children] == ["on-hold"]
        world[letter + "_bo"] = children[0]["id"]
    # Three on-hold backorder orders took their 6 widgets (sandbox/stock.py, fact 2).
    assert client.get(f"/products/{widget['id']}")["stock_quantity"] == -6
    return world


def done_releases(instance: Instance) -> int:
    with instance.db.session() as session:
        return len(session.scalars(select(Release).where(Release.state == "done")).all())


def status(sandbox: Sandbox, order_id: int) -> str:
    return str(sandbox.client().get_order(order_id)["status"])


def release_notes(sandbox: Sandbox, order_id: int) -> int:
    notes = sandbox.client().get(f"/orders/{order_id}/notes")
    return sum(1 for n in notes if n["note"].startswith("Backorders released this order"))


def test_stock_raised_through_rest_releases_by_priority_within_10_seconds(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-release-1")
    world = backordered_world(instance, sandbox)
    client = sandbox.client()

    raised = time.monotonic()
    product = client.put(f"/products/{world['widget']}", {"stock_quantity": -2})  # 4 arrive
    instance.add_event(str(world["widget"]), product["date_modified_gmt"], "product.updated")
    # A release is complete when its record is done: status set, note added, customer told.
    wait_until(lambda: done_releases(instance) == 2, 10, "both releases")
    took = time.monotonic() - raised

    unpaid = client.get_order(world["b_bo"])
    assert unpaid["status"] == "pending"
    assert unpaid["payment_url"].startswith(f"{sandbox.url}/checkout/order-pay/{world['b_bo']}/")
    assert status(sandbox, world["a_bo"]) == "on-hold"
    with instance.db.session() as session:
        rows = session.scalars(select(Release).order_by(Release.id)).all()
        assert [(r.order_id, r.target_status, r.state) for r in rows] == [
            (str(world["b_bo"]), "pending", "done"),
            (str(world["c_bo"]), "processing", "done"),
        ]
        assert rows[0].payment_url == unpaid["payment_url"]
    # pending gave b's 2 widgets back to the figure (wc_maybe_increase_stock_levels).
    assert client.get(f"/products/{world['widget']}")["stock_quantity"] == 0
    print(f"released 2 backorder orders {took:.2f}s after the stock was raised")


def test_two_concurrent_allocation_jobs_allocate_each_unit_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-release-1")
    world = backordered_world(instance, sandbox)
    instance.start_worker("w-release-2")
    client = sandbox.client()
    client.put(f"/products/{world['widget']}", {"stock_quantity": -2})  # 4 arrive: b and c

    queue = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer)
    jobs = [
        queue.enqueue_call(
            "worker.allocate_product",
            args=(instance.store_id, str(world["widget"])),
            job_id=f"allocate-twice-{n}",  # distinct ids: the dedupe is bypassed on purpose
        )
        for n in range(2)
    ]
    wait_until(lambda: all(j.get_status(refresh=True) == "finished" for j in jobs), 30, "both jobs")

    released = sorted(tuple(j.return_value(refresh=True)) for j in jobs)
    assert released == [(), (str(world["b_bo"]), str(world["c_bo"]))]
    assert [status(sandbox, world[k]) for k in ("a_bo", "b_bo", "c_bo")] == [
        "on-hold", "pending", "processing",
    ]  # fmt: skip
    assert [release_notes(sandbox, world[k]) for k in ("a_bo", "b_bo", "c_bo")] == [0, 1, 1]
    with instance.db.session() as session:
        assert len(session.scalars(select(Release)).all()) == 2
    assert client.get(f"/products/{world['widget']}")["stock_quantity"] == 0
