"""A real `python worker.py` process runs the jobs against the sandbox store over loopback."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import time
from typing import Any

import psutil
import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from plugin.adapters.queue.jobs import QUEUE_NAME, event_job_id
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.platforms.woocommerce.fingerprint import order_fingerprint
from plugin.ports import SplitState
from tests.integration.worker.conftest import FAST_REAPER, Instance, Sandbox, wait_until


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

    # Our own writes come back as webhooks: the original and the new backorder order. The split
    # may fall in the second the order was created in, so the state is told by its content too.
    again = instance.add_event(
        str(order["id"]),
        original["date_modified_gmt"],
        "order.updated",
        fingerprint=order_fingerprint(original),
    )
    mine = instance.add_event(str(child["id"]), child["date_modified_gmt"], "order.created")
    wait_until(
        lambda: {instance.event(again).status, instance.event(mine).status} == {"ignored"},
        60,
        "our own writes to be ignored",
    )
    assert len(children_of(sandbox, order["id"])) == 1
    assert quantities(sandbox.client().get_order(order["id"])) == [("Widget", 3), ("Gadget", 2)]


# SQLite only: about RQ's retry timing, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
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


# SQLite only: about RQ and the reaper (Redis), the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_a_job_of_a_killed_worker_is_picked_up_again(instance: Instance, sandbox: Sandbox) -> None:
    """SIGKILL the worker and its work horse (which RQ puts in a process group of its own)
    while the horse is in the middle of a split; a surviving worker finishes it, once."""
    order = short_order(sandbox)
    # Every API call takes 3 s: a split (4 calls) lasts 12 s, and the worker dies right after
    # its first call, so the job is certainly mid-way even on a busy machine.
    sandbox.faults.update({"latency_ms": 3000})
    victim = instance.start_worker("w-victim", **FAST_REAPER)
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
    wait_until(
        lambda: "woocommerce call method=GET" in instance.log("w-victim"),
        30,
        "the victim's first API call",
    )
    horses = psutil.Process(victim.pid).children(recursive=True)
    assert horses  # the work horse (and the scheduler process)
    os.killpg(victim.pid, signal.SIGKILL)
    for process in horses:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    victim.wait()
    psutil.wait_procs(horses, timeout=10)
    killed_at = time.monotonic()
    assert instance.event(event_id).status != "done"  # killed mid-job, not after it
    sandbox.faults.update({"latency_ms": 0})
    survivor = instance.start_worker("w-survivor", **FAST_REAPER)

    wait_until(lambda: instance.event(event_id).status == "done", 120, "the survivor to finish")
    recovered_in = time.monotonic() - killed_at

    assert survivor.poll() is None
    assert len(children_of(sandbox, order["id"])) == 1
    [record] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    assert record.state == SplitState.DONE
    assert "requeued abandoned job=" + job_id in instance.log("w-survivor")
    assert recovered_in < 120
    print(f"worker: job of a SIGKILLed worker finished by another {recovered_in:.1f}s later")


# SQLite only: about RQ heartbeats (Redis), the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_a_slow_job_that_keeps_its_heartbeat_is_not_reaped(
    instance: Instance, sandbox: Sandbox
) -> None:
    """The reaper's negative case, with aggressive settings: heartbeats every second, stale
    after 3 s, a pass every 0.5 s, and a job that runs for about 8 s (4 calls of 2 s)."""
    order = short_order(sandbox)
    sandbox.faults.update({"latency_ms": 2000})
    fast_reaper = {
        "BACKORDERS_HEARTBEAT": "1",
        "BACKORDERS_REAP_STALE": "3",
        "BACKORDERS_REAP_TICK": "0.5",
    }
    instance.start_worker("w-slow-1", **fast_reaper)
    instance.start_worker("w-slow-2", **fast_reaper)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])

    took = wait_until(lambda: instance.event(event_id).status == "done", 60, "the slow job")

    assert took > 5  # the job really outlived the stale threshold several times over
    assert instance.event(event_id).attempts == 1
    assert "requeued abandoned" not in instance.log("w-slow-1") + instance.log("w-slow-2")
    assert len(children_of(sandbox, order["id"])) == 1


def test_reconciliation_finds_a_missed_order_and_revives_a_disabled_webhook(
    instance: Instance, sandbox: Sandbox
) -> None:
    order = short_order(sandbox)  # its webhook never arrived: nothing in our inbox
    hook = sandbox.store.create_webhook(
        {"topic": "order.created", "status": "disabled", "secret": "s",
         "delivery_url": "http://127.0.0.1:8000/webhooks/woocommerce/1"}
    )  # fmt: skip
    other = sandbox.store.create_webhook(
        {"topic": "order.updated", "status": "disabled", "secret": "s",
         "delivery_url": "https://elsewhere.example/hook"}
    )  # fmt: skip
    instance.stores.update(
        instance.store_id,
        webhook_ids=[hook["id"]],
        reconcile_checkpoint=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
    )
    started = dt.datetime.now(dt.UTC)
    Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer).enqueue_call(
        "worker.reconcile_all"
    )
    instance.start_worker("w-reconcile")

    wait_until(lambda: len(children_of(sandbox, order["id"])) == 1, 60, "the missed split")

    events = InboxRepository(instance.db).list(instance.store_id)
    assert [(e.resource_id, e.source) for e in events if e.resource_id == str(order["id"])][
        -1:
    ] == [(str(order["id"]), "reconcile")]
    client = sandbox.client()
    assert client.get(f"/webhooks/{hook['id']}")["status"] == "active"
    assert client.get(f"/webhooks/{other['id']}")["status"] == "disabled"  # not ours
    alerts = instance.stores.list_alerts(instance.store_id)
    assert [a.kind for a in alerts] == ["webhook_disabled"]
    store = instance.stores.get(instance.store_id)
    assert store is not None and store.reconcile_checkpoint is not None
    assert store.reconcile_checkpoint >= started


# SQLite only: about the Redis rate limiter, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_a_429_pauses_the_store_and_the_job_is_retried(
    instance: Instance, sandbox: Sandbox
) -> None:
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    Job.fetch(event_job_id(event_id), connection=instance.redis, serializer=JSONSerializer).delete()
    # The store accepts 2 requests a second; a split needs more, so one is answered 429.
    sandbox.faults.update({"rate_limit_per_sec": 2})
    job = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer).enqueue_call(
        "worker.process_event",
        args=(event_id,),
        job_id=event_job_id(event_id),
        retry=Retry(max=5, interval=[1, 1, 1, 1, 1]),
    )
    instance.start_worker("w-429")

    wait_until(lambda: "rate limit pause store=" in instance.log("w-429"), 30, "the pause")
    sandbox.faults.update({"rate_limit_per_sec": 0})
    wait_until(lambda: instance.event(event_id).status == "done", 60, "the retried event")
    # The event is marked done inside the job; RQ marks the job finished a moment later.
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 10, "the job")
    assert len(children_of(sandbox, order["id"])) == 1
    audit = SqlAuditLog(instance.db).for_order(instance.store_id, str(order["id"]))
    # The connector keeps WooCommerce's error code as the RateLimited reason.
    assert [e.data.get("reason") for e in audit if e.kind == "retry"] == [
        "woocommerce_rest_too_many_requests"
    ]
    # The retry found no backorder order from the failed batch call and created it once.
    [record] = SqlSplitLedger(instance.db).for_order(instance.store_id, str(order["id"]))
    assert (record.state, record.create_attempted) == (SplitState.DONE, True)


# SQLite only: about the Redis rate limiter, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_429s_retry_at_the_stores_pace_without_using_up_the_jobs_retries(
    instance: Instance, sandbox: Sandbox
) -> None:
    """A 429 storm (Retry-After: 1) is retried at the store's pace, not after the job's own
    60 s interval, and three 429s in a row do not exhaust the job's single retry."""
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    Job.fetch(event_job_id(event_id), connection=instance.redis, serializer=JSONSerializer).delete()
    sandbox.faults.update({"rate_limit_per_sec": 2})  # a split needs more: every attempt gets 429
    job = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer).enqueue_call(
        "worker.process_event",
        args=(event_id,),
        job_id=event_job_id(event_id),
        retry=Retry(max=1, interval=[60]),
    )
    instance.start_worker("w-429-pace")

    wait_until(
        lambda: instance.log("w-429-pace").count("rate limit pause store=") >= 3, 30, "3 429s"
    )
    sandbox.faults.update({"rate_limit_per_sec": 0})  # the storm ends
    wait_until(lambda: instance.event(event_id).status == "done", 15, "the split")
    # The event is marked done inside the job; RQ marks the job finished a moment later.
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, 10, "the job")
    job.refresh()
    assert job.meta["rate_limited_retries"] >= 3
    assert job.retries_left == 1  # the 429s were not counted against it
    assert len(children_of(sandbox, order["id"])) == 1


# SQLite only: about RQ's command line, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_plain_rq_worker_cli_runs_the_jobs(instance: Instance, sandbox: Sandbox) -> None:
    """The production command, as documented in worker.py."""
    import sys
    from pathlib import Path

    rq = str(Path(sys.executable).with_name("rq"))
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    instance.start_worker(
        "w-cli",
        [rq, "worker", "--with-scheduler", "--serializer", "json",
         "--job-monitoring-interval", "10", "--worker-ttl", "35", "--maintenance-interval", "30",
         "--url", instance.env["REDIS_URL"], "--name", "w-cli", "backorders"],
    )  # fmt: skip

    wait_until(lambda: instance.event(event_id).status == "done", 60, "the event")

    [child] = children_of(sandbox, order["id"])
    assert quantities(child) == [("Widget", 2)]


def test_an_event_is_marked_failed_when_the_retries_are_used_up(
    instance: Instance, sandbox: Sandbox
) -> None:
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    Job.fetch(event_job_id(event_id), connection=instance.redis, serializer=JSONSerializer).delete()
    sandbox.faults.update({"error_rate": 1.0, "seed": 2})
    job = Queue(QUEUE_NAME, connection=instance.redis, serializer=JSONSerializer).enqueue_call(
        "worker.process_event",
        args=(event_id,),
        job_id=event_job_id(event_id),
        retry=Retry(max=1, interval=[1]),
    )
    instance.start_worker("w-give-up")

    wait_until(lambda: instance.event(event_id).status == "failed", 30, "the final failure")

    event = instance.event(event_id)
    assert event.attempts == 2
    assert event.error is not None and event.error.startswith("gave up after retries: ")
    wait_until(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 10, "RQ's failure")
    assert children_of_safe(sandbox, order["id"]) == []
