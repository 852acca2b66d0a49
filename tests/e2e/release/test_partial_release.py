"""The running stack splits a partly released backorder order again (-002) when stock is
raised over REST, releases what is in stock, and releases the rest when it arrives."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

import run
from plugin.adapters.sql.models import Release, Split
from plugin.core.model import CustomerPolicy
from tests.e2e.helpers import Api, Jobs, PluginDb, create_order, meta, wait_for

# Also on PostgreSQL: one of the representative e2e tests (tests/README.md).
pytestmark = [pytest.mark.e2e, pytest.mark.database("sqlite", "postgresql")]


def _split(api: Api, plugin_db: PluginDb, store_id: int, order_id: int) -> dict[str, Any]:
    """The backorder order of `order_id`, once its split is done."""

    def done() -> dict[str, Any] | None:
        records = plugin_db.ledger.for_order(store_id, str(order_id))
        if not records or records[0].state != "done":
            return None
        children = api.children(order_id)
        return children[0] if len(children) == 1 else None

    return wait_for(done, what=f"split of order {order_id}")


def _finished(jobs: Jobs, job_id: str) -> bool:
    from rq.job import Job
    from rq.serializers import JSONSerializer

    job = Job.fetch(job_id, connection=jobs.connection, serializer=JSONSerializer)
    status = job.get_status()
    assert status != "failed", job.latest_result()
    return bool(status == "finished")


def _lines(order: dict[str, Any]) -> list[tuple[int, int]]:
    return [(item["product_id"], item["quantity"]) for item in order["line_items"]]


def test_partial_release_splits_with_002_once_and_the_rest_follows(
    stack: run.Stack, api: Api, plugin_db: PluginDb, jobs: Jobs
) -> None:
    assert stack.store_id is not None
    store_id = stack.store_id
    tag = uuid.uuid4().hex[:6]
    widget = api.create_product(f"Widget {tag}", price="10.00", stock=0, backorders="yes")
    mug = api.create_product(f"Mug {tag}", price="5.00", stock=50, backorders="no")
    originals: dict[str, dict[str, Any]] = {}
    backorders: dict[str, dict[str, Any]] = {}
    for who, priority, units, paid in (("unpaid", 10, 3, False), ("paid", 5, 2, True)):
        customer = api.post("/customers", {"email": f"{who}-{tag}@example.com"})
        plugin_db.policies.set_customer_policy(
            store_id, CustomerPolicy(str(customer["id"]), priority=priority)
        )
        originals[who] = create_order(
            api,
            [(widget["id"], units), (mug["id"], 1)],
            status="processing" if paid else "pending",
            set_paid=paid,
            customer_id=customer["id"],
        )
        backorders[who] = _split(api, plugin_db, store_id, int(originals[who]["id"]))
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -5
    first_id = int(backorders["unpaid"]["id"])
    original = originals["unpaid"]

    raised = time.monotonic()
    api.put(f"/products/{widget['id']}", {"stock_quantity": -3})  # 2 widgets arrive

    def split_again() -> list[dict[str, Any]] | None:
        children = sorted(api.children(int(original["id"])), key=lambda o: o["id"])
        statuses = [c["status"] for c in children]
        return children if statuses == ["pending", "on-hold"] else None

    first, second = wait_for(split_again, timeout=10, what="the -002 order and the release")
    took = time.monotonic() - raised

    # The customer with priority 10 gets both units: 2 of their 3 ship now (unpaid: pending,
    # with the payment link), the third waits in <number>-002; the other customer waits.
    assert first["id"] == first_id
    assert _lines(first) == [(widget["id"], 2)]
    assert first["total"] == "20.00"
    assert "order-pay" in first["payment_url"]
    assert _lines(second) == [(widget["id"], 1)]
    assert second["total"] == "10.00"
    assert second["parent_id"] == original["id"]
    assert (meta(second, "backorders_number"), meta(second, "backorders_role")) == (
        f"{original['number']}-002", "backorder",
    )  # fmt: skip
    assert meta(second, "backorders_payment") == "charge_on_release"
    assert meta(second, "backorders_split_key") == f"resplit:{first_id}"
    assert api.order(int(backorders["paid"]["id"]))["status"] == "on-hold"
    # -5, 2 arrived: -3; the pending order gave its 2 back: -1 (3 wait, 2 held for payment).
    assert api.get(f"/products/{widget['id']}")["stock_quantity"] == -1

    # The allocation job running twice more (at once, on both workers) changes nothing.
    repeated = [jobs.enqueue("worker.allocate_product", store_id, str(widget["id"])) for _ in "ab"]
    wait_for(
        lambda: all(_finished(jobs, job_id) for job_id in repeated),
        timeout=30,  # the second waits for the first's product lock
        what="the repeated allocation jobs",
    )
    assert [c["id"] for c in api.children(int(original["id"]))] == [second["id"], first_id]
    with plugin_db.db.session() as session:
        resplits = session.scalars(
            select(Split).where(
                Split.store_id == store_id, Split.original_order_id == str(first_id)
            )
        ).all()
        assert [(s.split_key, s.state, s.backorder_order_id) for s in resplits] == [
            (f"resplit:{first_id}", "done", str(second["id"]))
        ]
        releases = session.scalars(
            select(Release).where(Release.store_id == store_id, Release.order_id == str(first_id))
        ).all()
        assert [(r.state, r.target_status) for r in releases] == [("done", "pending")]
    assert sum("split this backorder order again" in n["note"] for n in api.notes(first_id)) == 1

    # One more unit arrives: -002 keeps the priority and place of the order it came from.
    api.put(f"/products/{widget['id']}", {"stock_quantity": 0})
    wait_for(lambda: api.order(int(second["id"]))["status"] == "pending", what="the -002 release")
    assert api.order(int(backorders["paid"]["id"]))["status"] == "on-hold"
    assert len(api.children(int(original["id"]))) == 2
    print(f"partial release split again with -002 {took:.2f}s after the stock was raised")
