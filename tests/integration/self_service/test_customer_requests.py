"""A customer's requests carried out by a real worker process against the sandbox store, with
real storage and Redis: each writes to the store once, notes both orders naming the customer,
and a second run changes nothing (issue 15)."""

from __future__ import annotations

from typing import Any

from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from jobs.self_service import enqueue_request, request_job_id
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.self_service import SqlCustomerRequests
from plugin.core.model import DeliveryCondition
from plugin.platforms.woocommerce.adapter import WooCommercePlatform
from plugin.usecases import self_service
from plugin.usecases.cancelling import cancel_key, cancel_line, partial_cancel_key
from tests.integration.cancelling.test_cancel_line import notes, split_world, stock
from tests.integration.worker.conftest import Instance, Sandbox, wait_until

SHOPPER = "shopper@example.com"


def _run(instance: Instance, key: str) -> Job:
    assert enqueue_request(instance.redis, instance.store_id, key)
    assert not enqueue_request(instance.redis, instance.store_id, key)  # one job per request
    job_id = request_job_id(instance.store_id, key)

    def finished() -> bool:
        status = Job.fetch(job_id, instance.redis, serializer=JSONSerializer).get_status()
        return status in (JobStatus.FINISHED, JobStatus.FAILED)

    wait_until(finished, 60, f"job {job_id}")
    return Job.fetch(job_id, instance.redis, serializer=JSONSerializer)


def _cancel_request(instance: Instance, world: dict[str, Any]) -> str:
    """What the page's confirmed cancel form records (web/customer.py)."""
    key = self_service.request_key("cancel", str(world["original"]), "pen")
    line = {
        "backorder_order_id": str(world["backorder"]),
        "original_order_id": str(world["original"]),
        "line_id": world["pen_line"],
        "product_id": str(world["pen"]),
        "variant_id": None,
        "quantity": 1,
    }
    created = SqlCustomerRequests(instance.db).create(
        instance.store_id, key, kind="cancel", order_id=str(world["original"]), email=SHOPPER,
        payload={"lines": [line]},
    )  # fmt: skip
    assert created is not None
    return key


def test_a_customer_cancels_one_backordered_line_once(instance: Instance, sandbox: Sandbox) -> None:
    instance.start_worker("w-customer-1")
    world = split_world(instance, sandbox, paid=True)
    client = sandbox.client()
    key = _cancel_request(instance, world)

    job = _run(instance, key)

    assert job.get_status() == JobStatus.FINISHED, instance.log("w-customer-1")
    record = SqlCustomerRequests(instance.db).get(instance.store_id, key)
    assert record is not None and (record.state, record.error) == ("done", None)
    assert record.outcome == {
        "lines": [
            {"cancel_key": cancel_key(str(world["backorder"]), world["pen_line"]),
             "state": "done", "error": None}
        ]
    }  # fmt: skip
    after = client.get_order(world["backorder"])
    assert [item["product_id"] for item in after["line_items"]] == [world["widget"]]
    assert stock(sandbox, world["pen"]) == 0 and stock(sandbox, world["widget"]) == -2
    cancellation = SqlCancellationLedger(instance.db).get(
        instance.store_id, cancel_key(str(world["backorder"]), world["pen_line"])
    )
    assert cancellation is not None
    assert cancellation.requested_by == f"the customer ({SHOPPER})"
    backorder_notes = notes(sandbox, world["backorder"], "Backorders cancelled")
    original_notes = notes(sandbox, world["original"], "Backorders cancelled")
    assert len(backorder_notes) == 1 and len(original_notes) == 1
    assert f"at the request of the customer ({SHOPPER})" in backorder_notes[0]
    assert "refund 3.00" in original_notes[0]  # paid: the refund is due on the original
    audit = SqlAuditLog(instance.db)
    trail = [e.message for e in audit.for_order(instance.store_id, str(world["original"]))]
    assert any(m.startswith(f"Request of the customer ({SHOPPER}) to cancel 1") for m in trail)

    # The use case run again (a retried job): nothing is written, no note is added.
    platform = WooCommercePlatform(sandbox.client())
    again = self_service.carry_out_request(
        instance.store_id, key, requests=SqlCustomerRequests(instance.db),
        audit=SqlAuditLog(instance.db), platform=platform,
        cancel_line=lambda line, who: None,
    )  # fmt: skip
    assert again is not None and again.state == "done"
    assert platform.calls == 0
    assert len(notes(sandbox, world["backorder"], "Backorders cancelled")) == 1


def test_a_customer_cancels_one_of_two_backordered_units_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-customer-units")
    world = split_world(instance, sandbox, paid=True)  # 2 widgets at 10.00 and 1 pen wait
    client = sandbox.client()
    key = self_service.request_key("cancel", str(world["original"]), "widget-1of2")
    line = {
        "backorder_order_id": str(world["backorder"]),
        "original_order_id": str(world["original"]),
        "line_id": world["widget_line"],
        "product_id": str(world["widget"]),
        "variant_id": None,
        "quantity": 1,
        "units": 1,
        "waiting": 2,
    }
    created = SqlCustomerRequests(instance.db).create(
        instance.store_id, key, kind="cancel", order_id=str(world["original"]), email=SHOPPER,
        payload={"lines": [line]},
    )  # fmt: skip
    assert created is not None

    job = _run(instance, key)

    assert job.get_status() == JobStatus.FINISHED, instance.log("w-customer-units")
    partial = partial_cancel_key(str(world["backorder"]), world["widget_line"], 1, 2)
    record = SqlCustomerRequests(instance.db).get(instance.store_id, key)
    assert record is not None and record.outcome == {
        "lines": [{"cancel_key": partial, "state": "done", "error": None}]
    }
    after = client.get_order(world["backorder"])
    assert after["status"] == "on-hold"
    quantities = {
        item["product_id"]: (item["quantity"], item["total"]) for item in after["line_items"]
    }
    assert quantities == {world["widget"]: (1, "10.00"), world["pen"]: (1, "3.00")}
    assert after["total"] == "13.00"
    assert stock(sandbox, world["widget"]) == -1  # the cancelled unit came back
    assert stock(sandbox, world["pen"]) == -1
    cancellation = SqlCancellationLedger(instance.db).get(instance.store_id, partial)
    assert cancellation is not None and cancellation.units == 1
    assert not cancellation.removes_line
    assert (str(world["backorder"]), world["widget_line"]) not in SqlCancellationLedger(
        instance.db
    ).removed_lines(instance.store_id)  # the line still waits for its other unit
    [backorder_note] = notes(sandbox, world["backorder"], "Backorders cancelled")
    [original_note] = notes(sandbox, world["original"], "Backorders cancelled")
    assert backorder_note.startswith("Backorders cancelled 1 of the 2 backordered units of ")
    assert f"at the request of the customer ({SHOPPER})" in backorder_note
    assert "The line keeps 1 unit" in backorder_note
    assert "(1 still waits)" in original_note and "refund 10.00 USD" in original_note

    # Run again (a retried job, the cancellation carried on): nothing is written twice.
    platform = WooCommercePlatform(sandbox.client())
    again = self_service.carry_out_request(
        instance.store_id, key, requests=SqlCustomerRequests(instance.db),
        audit=SqlAuditLog(instance.db), platform=platform,
        cancel_line=lambda line, who: None,
    )  # fmt: skip
    assert again is not None and again.state == "done"
    done = cancel_line(
        instance.store_id, partial, platform=platform,
        cancellations=SqlCancellationLedger(instance.db), releases=SqlReleaseLedger(instance.db),
        audit=SqlAuditLog(instance.db),
    )  # fmt: skip
    assert done == cancellation and platform.calls == 0
    assert client.get_order(world["backorder"])["line_items"] == after["line_items"]
    assert stock(sandbox, world["widget"]) == -1
    assert len(notes(sandbox, world["backorder"], "Backorders cancelled")) == 1


def test_a_customer_changes_the_delivery_of_the_waiting_order_once(
    instance: Instance, sandbox: Sandbox
) -> None:
    instance.start_worker("w-customer-2")
    world = split_world(instance, sandbox, paid=False)
    client = sandbox.client()
    key = self_service.request_key("delivery", str(world["original"]), "whole_order:0")
    created = SqlCustomerRequests(instance.db).create(
        instance.store_id, key, kind="delivery", order_id=str(world["original"]), email=SHOPPER,
        payload={"condition": "whole_order", "orders": [str(world["backorder"])]},
    )  # fmt: skip
    assert created is not None

    job = _run(instance, key)

    assert job.get_status() == JobStatus.FINISHED, instance.log("w-customer-2")
    record = SqlCustomerRequests(instance.db).get(instance.store_id, key)
    assert record is not None and (record.state, record.error) == ("done", None)
    read = WooCommercePlatform(client).get_order(str(world["backorder"]))
    assert read.delivery_override is DeliveryCondition.WHOLE_ORDER
    changed = "Backorders: Delivery changed to"
    assert len(notes(sandbox, world["backorder"], changed)) == 1
    assert len(notes(sandbox, world["original"], changed)) == 1
    assert (
        f"at the request of the customer ({SHOPPER})"
        in notes(sandbox, world["original"], changed)[0]
    )
    modified = client.get_order(world["backorder"])["date_modified_gmt"]

    # Written again (a retry after the write): the value is there already, nothing is sent.
    platform = WooCommercePlatform(sandbox.client())
    platform.set_delivery_condition(str(world["backorder"]), "whole_order")
    assert platform.calls == 1  # the read only
    assert client.get_order(world["backorder"])["date_modified_gmt"] == modified
