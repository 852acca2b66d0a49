"""A real `python worker.py` process runs the jobs against the sandbox store over loopback."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

import psutil
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from plugin.dispatch import QUEUE_NAME, event_job_id
from plugin.ports import SplitState
from plugin.storage.repositories import SqlAuditLog, SqlSplitLedger
from tests.integration.worker.conftest import Instance, Sandbox, wait_until


def short_order(sandbox: Sandbox) -> dict[str, Any]:
    """A processing order: 5 widgets (3 in stock, backorders allowed) and 2 gadgets."""
    store = sandbox.store
    widget = store.create_product(
        {"name": "Widget", "regular_price": "10.00", "manage_stock": True,
         "stock_quantity": 3, "backorders": "yes"}
    )  # fmt: skip
    gadget = store.create_product(
        {"name": "Gadget", "regular_price": "4.00", "manage_stock": True, "stock_quantity": 10}
    )
    return dict(
        store.create_order(
            {
                "status": "processing",
                "line_items": [
                    {"product_id": widget["id"], "quantity": 5},
                    {"product_id": gadget["id"], "quantity": 2},
                ],
            }
        )
    )


def children_of(sandbox: Sandbox, order_id: int) -> list[dict[str, Any]]:
    return list(sandbox.client().list_orders(parent=[order_id]))


def quantities(order: dict[str, Any]) -> list[tuple[str, int]]:
    return [(item["name"], item["quantity"]) for item in order["line_items"]]


def test_worker_process_splits_an_order_once(instance: Instance, sandbox: Sandbox) -> None:
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    instance.start_worker("w-split")

    took = wait_until(
        lambda: instance.event(event_id).status == "done", 60, "the event to be processed"
    )

    [child] = children_of(sandbox, order["id"])
    assert quantities(child) == [("Widget", 2)]
    original = sandbox.client().get_order(order["id"])
    assert quantities(original) == [("Widget", 3), ("Gadget", 2)]
    [record] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    assert (record.state, record.backorder_order_id) == (SplitState.DONE, str(child["id"]))
    kinds = [
        e.kind for e in SqlAuditLog(instance.db).for_order(instance.store_id, str(order["id"]))
    ]
    assert kinds.count("decision") == 1
    event = instance.event(event_id)
    assert (event.attempts, event.error) == (1, None)
    print(f"worker: event to split done in {took:.2f}s")

    # Our own writes come back as webhooks: the original and the new backorder order.
    again = instance.add_event(str(order["id"]), original["date_modified_gmt"], "order.updated")
    mine = instance.add_event(str(child["id"]), child["date_modified_gmt"], "order.created")
    wait_until(
        lambda: {instance.event(again).status, instance.event(mine).status} == {"ignored"},
        60,
        "our own writes to be ignored",
    )
    assert len(children_of(sandbox, order["id"])) == 1
    assert quantities(sandbox.client().get_order(order["id"])) == [("Widget", 3), ("Gadget", 2)]


def test_transient_errors_are_retried_with_backoff(instance: Instance, sandbox: Sandbox) -> None:
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    # Re-enqueue the event's job with short intervals (the real ones start at 10 s).
    queue = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer)
    Job.fetch(event_job_id(event_id), connection=instance.redis, serializer=JSONSerializer).delete()
    sandbox.faults.update({"error_rate": 1.0, "seed": 1})
    job = queue.enqueue_call(
        "worker.process_event",
        args=(event_id,),
        job_id=event_job_id(event_id),
        retry=Retry(max=4, interval=[2, 2, 2, 2]),
    )
    instance.start_worker("w-retry")

    wait_until(lambda: job.get_status(refresh=True) == JobStatus.SCHEDULED, 30, "a scheduled retry")
    failed_at = time.monotonic()
    assert instance.event(event_id).status == "enqueued"
    assert children_of_safe(sandbox, order["id"]) == []
    sandbox.faults.update({"error_rate": 0.0})

    wait_until(lambda: instance.event(event_id).status == "done", 60, "the retried event")
    retried_after = time.monotonic() - failed_at

    assert len(children_of(sandbox, order["id"])) == 1
    event = instance.event(event_id)
    assert event.attempts >= 2
    audit = SqlAuditLog(instance.db).for_order(instance.store_id, str(order["id"]))
    assert [e.kind for e in audit].count("retry") == event.attempts - 1
    # 2 s interval with ±25 % jitter, rounded up: never sooner than 1.5 s.
    assert retried_after >= 1.0
    print(f"worker: retry after transient error, done {retried_after:.2f}s after it failed")


def children_of_safe(sandbox: Sandbox, order_id: int) -> list[dict[str, Any]]:
    faults = sandbox.faults.snapshot()
    sandbox.faults.update({"error_rate": 0.0})
    try:
        return children_of(sandbox, order_id)
    finally:
        sandbox.faults.update({"error_rate": faults["error_rate"]})


def test_a_job_of_a_killed_worker_is_picked_up_again(instance: Instance, sandbox: Sandbox) -> None:
    """SIGKILL the worker and its work horse (which RQ puts in a process group of its own)
    while the horse is in the middle of a split; a surviving worker finishes it, once."""
    order = short_order(sandbox)
    # Every API call takes 1.5 s, so the job is certainly mid-way when the worker dies.
    sandbox.faults.update({"latency_ms": 1500})
    victim = instance.start_worker("w-victim")
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    job_id = event_job_id(event_id)
    wait_until(
        lambda: (
            Job.fetch(job_id, connection=instance.redis, serializer=JSONSerializer).get_status()
            == JobStatus.STARTED
        ),
        30,
        "the victim to start the job",
    )
    time.sleep(2.0)  # inside the job: at least one slow API call has been made
    survivor = instance.start_worker("w-survivor")
    horses = psutil.Process(victim.pid).children(recursive=True)
    assert horses  # the work horse (and the scheduler process)
    os.killpg(victim.pid, signal.SIGKILL)
    for process in horses:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    victim.wait()
    psutil.wait_procs(horses, timeout=10)
    killed_at = time.monotonic()
    sandbox.faults.update({"latency_ms": 0})

    wait_until(lambda: instance.event(event_id).status == "done", 120, "the survivor to finish")
    recovered_in = time.monotonic() - killed_at

    assert survivor.poll() is None
    assert len(children_of(sandbox, order["id"])) == 1
    [record] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    assert record.state == SplitState.DONE
    assert "requeued abandoned job=" + job_id in instance.log("w-survivor")
    assert recovered_in < 120
    print(f"worker: job of a SIGKILLed worker finished by another {recovered_in:.1f}s later")
