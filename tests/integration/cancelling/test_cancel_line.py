"""Cancelling a backorder line against the real sandbox store, with real SQLite and Redis:
through a real worker process, resumed after a crash between the write and its record, and
refused without a change when the backorder order moved on."""

from __future__ import annotations

from typing import Any

from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import cancel_job_id, enqueue_cancellation
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.core.model import ProductRef
from plugin.errors import TransientError
from plugin.platforms.woocommerce.adapter import WooCommercePlatform, connect
from plugin.ports import CancellationRecord
from plugin.usecases import cancelling
from plugin.usecases.cancelling import cancel_key
from tests.integration.worker.conftest import Instance, Sandbox, wait_until

MERCHANT = "alice@example.com"


def split_world(instance: Instance, sandbox: Sandbox, *, paid: bool = True) -> dict[str, Any]:
    """One order of 2 widgets (none in stock), 1 pen (none) and 1 gadget (50) split by a real
    worker: the backorder order holds the widgets and the pen."""
    client = sandbox.client()
    product = {"manage_stock": True, "stock_quantity": 0, "backorders": "yes"}
    widget = client.post("/products", {"name": "Widget", "regular_price": "10.00", **product})
    pen = client.post("/products", {"name": "Pen", "regular_price": "3.00", **product})
    gadget = client.post(
        "/products",
        {"name": "Gadget", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 50},
    )
    order = client.post(
        "/orders",
        {"status": "processing" if paid else "on-hold", "set_paid": paid,
         "payment_method": "bacs", "billing": {"email": "shopper@example.com"},
         "line_items": [{"product_id": widget["id"], "quantity": 2},
                        {"product_id": pen["id"], "quantity": 1},
                        {"product_id": gadget["id"], "quantity": 1}]},
    )  # fmt: skip
    event = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    wait_until(lambda: instance.event(event).status == "done", 60, "the split")
    [backorder] = client.list_orders(parent=[order["id"]])
    assert backorder["status"] == "on-hold"
    assert stock(sandbox, widget["id"]) == -2 and stock(sandbox, pen["id"]) == -1
    [split] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    lines = {
        str(line["ref"]["product_id"]): str(line["line_id"])
        for line in split.plan["lines"]  # type: ignore[attr-defined]
    }
    return {
        "original": order["id"],
        "backorder": backorder["id"],
        "widget": widget["id"],
        "pen": pen["id"],
        "widget_line": lines[str(widget["id"])],
        "pen_line": lines[str(pen["id"])],
    }


def stock(sandbox: Sandbox, product_id: int) -> int:
    return int(sandbox.client().get(f"/products/{product_id}")["stock_quantity"])


def notes(sandbox: Sandbox, order_id: int, start: str) -> list[str]:
    found = sandbox.client().get(f"/orders/{order_id}/notes")
    return [n["note"] for n in found if n["note"].startswith(start)]


def request(
    instance: Instance, world: dict[str, Any], product: str, reason: str
) -> CancellationRecord:
    """What the merchant's confirmation does (web/cancellations.py)."""
    record = SqlCancellationLedger(instance.db).request(
        instance.store_id,
        cancel_key(str(world["backorder"]), world[f"{product}_line"]),
        backorder_order_id=str(world["backorder"]),
        original_order_id=str(world["original"]),
        line_id=world[f"{product}_line"],
        product_id=str(world[product]),
        variant_id=None,
        quantity=2 if product == "widget" else 1,
        reason=reason,
        requested_by=MERCHANT,
    )
    assert record is not None
    return record


def record(instance: Instance, key: str) -> CancellationRecord:
    found = SqlCancellationLedger(instance.db).get(instance.store_id, key)
    assert found is not None
    return found


def run_job(instance: Instance, key: str, attempt: int) -> Job:
    assert enqueue_cancellation(instance.redis, instance.store_id, key, attempt)
    job_id = cancel_job_id(instance.store_id, key, attempt)

    def finished() -> bool:
        status = Job.fetch(job_id, instance.redis, serializer=JSONSerializer).get_status()
        return status in (JobStatus.FINISHED, JobStatus.FAILED)

    wait_until(finished, 60, f"job {job_id}")
    return Job.fetch(job_id, instance.redis, serializer=JSONSerializer)


def test_a_worker_removes_the_line_then_cancels_the_emptied_order_each_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-cancel-1")
    world = split_world(instance, sandbox)
    client = sandbox.client()
    backorder_id, original_id = world["backorder"], world["original"]
    before = client.get_order(backorder_id)
    original_before = client.get_order(original_id)
    widget_total = next(
        li["total"] for li in before["line_items"] if li["product_id"] == world["widget"]
    )
    assert widget_total == "20.00"

    widget = request(instance, world, "widget", "Discontinued by the maker")
    job = run_job(instance, widget.cancel_key, 1)
    assert job.return_value() == "done"
    after = client.get_order(backorder_id)
    assert after["status"] == "on-hold"
    assert [(li["product_id"], li["quantity"]) for li in after["line_items"]] == [(world["pen"], 1)]
    assert after["total"] == f"{float(before['total']) - 20:.2f}"
    # The removed line gave its 2 units back; the pen's unit is still taken by the order.
    assert (stock(sandbox, world["widget"]), stock(sandbox, world["pen"])) == (0, -1)
    # The original keeps what ships now.
    original_after = client.get_order(original_id)
    assert original_after["line_items"] == original_before["line_items"]
    assert original_after["total"] == original_before["total"]
    [note] = notes(sandbox, backorder_id, "Backorders cancelled the backorder line")
    assert f"'Widget' × 2 (20.00 USD) at the request of {MERCHANT}" in note
    assert "Reason: Discontinued by the maker" in note
    assert "refund 20.00 USD from that order (Backorders moves no money)" in note
    assert f"this order's total is now {after['total']}" in note
    [original_note] = notes(sandbox, original_id, "Backorders cancelled the backordered")
    # Named as the pages name it (its number), not by its WooCommerce id.
    number = f"{original_id}-001"
    assert f"'Widget' × 2 (20.00 USD) of backorder order {number} at" in original_note
    assert "These units will not be shipped; this order is unchanged." in original_note
    widget = record(instance, widget.cancel_key)
    assert (widget.state, widget.error, widget.write_attempted) == ("done", None, True)
    trail = SqlAuditLog(instance.db).for_order(instance.store_id, str(backorder_id))
    assert [e.kind for e in trail if e.data.get("cancel_key") == widget.cancel_key] == [
        "call",
        "info",
    ]

    # The same cancellation again (a repeated job): nothing more happens in the store.
    assert run_job(instance, widget.cancel_key, 2).return_value() == "done"
    assert len(notes(sandbox, backorder_id, "Backorders cancelled")) == 1
    assert (stock(sandbox, world["widget"]), stock(sandbox, world["pen"])) == (0, -1)

    # The last line: the backorder order is cancelled, which restores the pen's unit.
    pen = request(instance, world, "pen", "Customer asked")
    assert run_job(instance, pen.cancel_key, 1).return_value() == "done"
    cancelled = client.get_order(backorder_id)
    assert cancelled["status"] == "cancelled"
    assert [(li["product_id"], li["quantity"]) for li in cancelled["line_items"]] == [
        (world["pen"], 1)
    ]
    assert (stock(sandbox, world["widget"]), stock(sandbox, world["pen"])) == (0, 0)
    [pen_note] = notes(sandbox, backorder_id, "Backorders cancelled the backorder line 'Pen'")
    assert "so the order is cancelled and its stock restored" in pen_note
    assert len(notes(sandbox, original_id, "Backorders cancelled the backordered")) == 2


class CrashAfterWrite:
    """The store's platform, losing the connection right after the first write reached it."""

    def __init__(self, platform: WooCommercePlatform) -> None:
        self.platform = platform
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.platform, name)

    def remove_line(self, order_id: str, line_id: str) -> str | None:
        total = self.platform.remove_line(order_id, line_id)
        self.writes += 1
        if self.writes == 1:
            raise TransientError("connection lost after the write", reason="connection")
        return total


def _platform(sandbox: Sandbox) -> WooCommercePlatform:
    from sandbox.woocommerce.app import DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET

    return connect(sandbox.url, DEMO_CONSUMER_KEY, DEMO_CONSUMER_SECRET, timeout=10)


def _cancel(instance: Instance, key: str, platform: Any) -> CancellationRecord | None:
    return cancelling.cancel_line(
        instance.store_id,
        key,
        platform=platform,
        cancellations=SqlCancellationLedger(instance.db),
        releases=SqlReleaseLedger(instance.db),
        audit=SqlAuditLog(instance.db),
    )


def test_a_retry_after_a_crash_following_the_write_finishes_it_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-cancel-2")
    world = split_world(instance, sandbox, paid=False)
    widget = request(instance, world, "widget", "Out of production")
    platform = CrashAfterWrite(_platform(sandbox))
    try:
        _cancel(instance, widget.cancel_key, platform)
        raise AssertionError("the crash did not happen")
    except TransientError:
        pass
    crashed = record(instance, widget.cancel_key)
    assert (crashed.state, crashed.write_attempted) == ("requested", True)
    assert stock(sandbox, world["widget"]) == 0  # the write reached the store
    finished = _cancel(instance, widget.cancel_key, platform)
    assert finished is not None and finished.state == "done"
    assert platform.writes == 2  # the retry found the line gone and did not write again
    assert stock(sandbox, world["widget"]) == 0
    [note] = notes(sandbox, world["backorder"], "Backorders cancelled the backorder line")
    assert "The customer was not charged for these units." in note
    assert len(notes(sandbox, world["original"], "Backorders cancelled")) == 1


def test_a_released_or_changed_backorder_order_is_refused_without_a_change(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-cancel-3")
    world = split_world(instance, sandbox)
    client = sandbox.client()
    widget = request(instance, world, "widget", "Too late")
    # While the cancellation is open, allocation does not consider the backorder order.
    releases = SqlReleaseLedger(instance.db)
    assert releases.backorder_orders_for(instance.store_id, ProductRef(str(world["widget"]))) == []
    client.put(f"/orders/{world['backorder']}", {"status": "processing"})
    before = client.get_order(world["backorder"])
    stocks = (stock(sandbox, world["widget"]), stock(sandbox, world["pen"]))
    assert run_job(instance, widget.cancel_key, 1).return_value() == "failed"
    refused = record(instance, widget.cancel_key)
    assert refused.error == (
        f"backorder order {world['original']}-001 is no longer waiting on hold (status new)"
    )
    assert not refused.write_attempted
    after = client.get_order(world["backorder"])
    assert after["line_items"] == before["line_items"] and after["status"] == "processing"
    assert (stock(sandbox, world["widget"]), stock(sandbox, world["pen"])) == stocks
    assert notes(sandbox, world["backorder"], "Backorders cancelled") == []
    assert notes(sandbox, world["original"], "Backorders cancelled") == []
    trail = SqlAuditLog(instance.db).for_order(instance.store_id, str(world["original"]))
    assert [e.kind for e in trail if e.data.get("cancel_key") == widget.cancel_key] == ["error"]
    # Refused: the order is an allocation candidate again.
    assert releases.backorder_orders_for(instance.store_id, ProductRef(str(world["widget"]))) == [
        str(world["backorder"])
    ]
