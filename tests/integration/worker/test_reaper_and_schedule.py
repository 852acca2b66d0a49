"""The reaper and the periodic-job chain against a real Redis (no worker processes except the
last test)."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace

import pytest
import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer

import worker
from plugin.adapters.queue import retry, scheduler
from plugin.adapters.queue.jobs import QUEUE_NAME
from plugin.adapters.queue.reaper import reap_abandoned
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.stores import OpenAlerts
from plugin.config import WorkerTimings
from tests.integration.worker.conftest import Instance, Sandbox, wait_until
from tests.integration.worker.test_worker_process import short_order

# One run of each periodic job, by its id's prefix, in name order.
ONE_RUN_OF_EACH_CHAIN = [
    "periodic-check_delays_all",
    "periodic-reap_abandoned",
    "periodic-reconcile_all",
    "periodic-requeue_pending",
    "periodic-warn_authorisations_all",
]


def queue_of(client: redis.Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=client, serializer=JSONSerializer)


def started_job(client: redis.Redis) -> Job:
    """A job as a worker has it right after taking it from the queue: STARTED, with an
    execution in the StartedJobRegistry and its heartbeat just written."""
    queue = queue_of(client)
    job = queue.enqueue_call("worker.process_event", args=(1,), job_id="event-1")
    queue.remove(job)
    rq_worker = Worker([queue], connection=client, serializer=JSONSerializer, name="gone")
    rq_worker.prepare_execution(job)
    job.set_status(JobStatus.STARTED)
    return job


def test_a_job_without_heartbeat_is_requeued_at_the_front(redis_client: redis.Redis) -> None:
    queue = queue_of(redis_client)
    job = started_job(redis_client)
    queue.enqueue_call("worker.process_event", args=(2,), job_id="event-2")
    registry = StartedJobRegistry(queue=queue)

    requeued = reap_abandoned(
        redis_client, [QUEUE_NAME], stale_after=40, clock=lambda: time.time() + 41
    )

    assert requeued == ["event-1"]
    assert queue.job_ids == ["event-1", "event-2"]
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert registry.get_job_ids(cleanup=False) == []
    assert redis_client.keys("rq:execution:event-1:*") == []
    # A second reaper pass (or a second reaper) finds nothing more to do.
    assert (
        reap_abandoned(redis_client, [QUEUE_NAME], stale_after=40, clock=lambda: time.time() + 41)
        == []
    )
    assert queue.job_ids == ["event-1", "event-2"]


def test_a_job_with_a_fresh_heartbeat_is_left_alone(redis_client: redis.Redis) -> None:
    queue = queue_of(redis_client)
    job = started_job(redis_client)

    requeued = reap_abandoned(
        redis_client, [QUEUE_NAME], stale_after=40, clock=lambda: time.time() + 39
    )

    assert requeued == []
    assert queue.job_ids == []
    assert job.get_status(refresh=True) == JobStatus.STARTED
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == ["event-1"]


def test_a_leftover_entry_of_a_finished_job_is_dropped_not_requeued(
    redis_client: redis.Redis,
) -> None:
    queue = queue_of(redis_client)
    job = started_job(redis_client)
    job.set_status(JobStatus.FINISHED)

    requeued = reap_abandoned(
        redis_client, [QUEUE_NAME], stale_after=40, clock=lambda: time.time() + 100
    )

    assert requeued == []
    assert queue.job_ids == []
    assert StartedJobRegistry(queue=queue).get_job_ids(cleanup=False) == []


def scheduled(client: redis.Redis) -> list[str]:
    return sorted(ScheduledJobRegistry(queue=queue_of(client)).get_job_ids(cleanup=False))


def test_a_periodic_job_is_scheduled_once_on_the_next_multiple_of_its_interval(
    redis_client: redis.Redis,
) -> None:
    before = time.time()
    first = scheduler.schedule_periodic(redis_client, "reconcile_all", WorkerTimings())
    second = scheduler.schedule_periodic(redis_client, "reconcile_all", WorkerTimings())

    [job_id] = scheduled(redis_client)
    due = int(job_id.rsplit("-", 1)[1])
    assert (first, second) == (True, False)
    assert job_id.startswith("periodic-reconcile_all-")
    assert due % 60 == 0 and before < due <= before + 60
    job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
    assert job.func_name == "worker.reconcile_all"

    scheduler.ensure_schedules(redis_client, WorkerTimings())
    scheduler.ensure_schedules(redis_client, WorkerTimings())
    names = [i.rsplit("-", 1)[0] for i in scheduled(redis_client)]
    assert names == ONE_RUN_OF_EACH_CHAIN


def test_a_backlog_holds_one_run_of_each_periodic_job(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chaos run's backlog held 111 queued `reconcile_all`: every seeding scheduled the next
    run while the last one still waited in the queue behind the backlog."""
    queue = queue_of(redis_client)
    registry = ScheduledJobRegistry(queue=queue)
    timings = WorkerTimings()
    start = time.time()
    longest = max(scheduler.periodic_intervals(timings).values())
    for tick in range(5):  # five of the longest intervals: every chain is due five times
        now = start + tick * longest
        monkeypatch.setattr(scheduler, "time", SimpleNamespace(time=lambda at=now: at))
        scheduler.ensure_schedules(redis_client, timings)
        # RQ's scheduler moves each due run into the queue, where the backlog keeps it.
        for job_id in registry.get_job_ids(cleanup=False):
            job = Job.fetch(job_id, connection=redis_client, serializer=JSONSerializer)
            registry.remove(job)
            queue.enqueue_job(job)

    names = sorted(i.rsplit("-", 1)[0] for i in queue.get_job_ids())
    assert names == ONE_RUN_OF_EACH_CHAIN
    assert scheduled(redis_client) == []
    # A worker takes the queued run: it schedules its successor as its first step.
    [waiting] = [i for i in queue.get_job_ids() if i.startswith("periodic-reconcile_all-")]
    job = Job.fetch(waiting, connection=redis_client, serializer=JSONSerializer)
    queue.remove(job)
    job.set_status(JobStatus.STARTED)
    assert scheduler.schedule_periodic(redis_client, "reconcile_all", timings) is True
    assert [i.rsplit("-", 1)[0] for i in scheduled(redis_client)] == ["periodic-reconcile_all"]
    assert scheduler.schedule_periodic(redis_client, "reconcile_all", timings) is False
    # A run Redis lost from the queue (its hash still says queued) does not stop the chain.
    [lost] = [i for i in queue.get_job_ids() if i.startswith("periodic-reap_abandoned-")]
    queue.remove(lost)
    assert scheduler.schedule_periodic(redis_client, "reap_abandoned", timings) is True


def test_retry_delay_is_jittered_around_the_interval_and_honours_retry_after() -> None:
    import random

    rng = random.Random(7)
    delays = [retry.retry_delay(10, None, rng) for _ in range(200)]

    assert min(delays) >= 8 and max(delays) <= 13  # 10 s ± 25 %, rounded up
    assert len(set(delays)) >= 4  # really jittered
    assert retry.retry_delay(10, 30.0, rng) == 30
    assert retry.retry_delay(0, 0.2, rng) == 1


def test_reconcile_all_enqueues_only_stores_that_are_due(in_process: Instance) -> None:
    stores = in_process.stores
    now = dt.datetime.now(dt.UTC)
    due = stores.create(
        name="Due", base_url="http://127.0.0.1:9/", consumer_key="k", consumer_secret="s",
        webhook_secret="w",
    )  # fmt: skip
    stores.update(due.id, reconcile_checkpoint=now - dt.timedelta(seconds=301))
    never = stores.create(
        name="Never", base_url="http://127.0.0.1:9/", consumer_key="k", consumer_secret="s",
        webhook_secret="w",
    )  # fmt: skip
    gone = stores.create(
        name="Gone", base_url="http://127.0.0.1:9/", consumer_key="k", consumer_secret="s",
        webhook_secret="w", status="disconnected",
    )  # fmt: skip
    # The fixture's store was reconciled just now: not due.

    first = worker.reconcile_all()
    second = worker.reconcile_all()

    assert (first, second) == (2, 0)
    assert sorted(queue_of(in_process.redis).job_ids) == sorted(
        [f"reconcile-{due.id}", f"reconcile-{never.id}"]
    )
    assert f"reconcile-{gone.id}" not in queue_of(in_process.redis).job_ids
    assert [i for i in scheduled(in_process.redis) if "reconcile_all" in i] != []


# SQLite only: about RQ's scheduler, the same on either database (tests/README.md).
@pytest.mark.database("sqlite")
def test_the_periodic_chain_runs_on_rqs_scheduler(instance: Instance) -> None:
    instance.start_worker("w-chain", BACKORDERS_REAP_INTERVAL="1")

    def reap_dues() -> list[int]:
        return [
            int(i.rsplit("-", 1)[1])
            for i in scheduled(instance.redis)
            if i.startswith("periodic-reap_abandoned-")
        ]

    wait_until(lambda: reap_dues(), 10, "the first reaper run to be scheduled")
    first = min(reap_dues())
    # Each run schedules the next: the chain moves on by itself, one pending run at a time.
    # One look per poll: between two looks the run may leave the scheduled registry for the
    # queue, and one run of a chain waits at a time, so the registry can be empty.
    wait_until(lambda: min(reap_dues(), default=0) >= first + 2, 20, "two more runs")
    assert len(reap_dues()) == 1


def test_an_open_alert_is_not_repeated(instance: Instance) -> None:
    alerts = OpenAlerts(instance.stores)
    sid = instance.store_id

    first = alerts.add_alert(sid, "oversold_not_backorderable", "Widget short", order_id="7")
    repeat = alerts.add_alert(sid, "oversold_not_backorderable", "Widget short", order_id="7")
    other = alerts.add_alert(sid, "oversold_not_backorderable", "Widget short", order_id="8")
    assert first is not None and other is not None and repeat is None
    instance.stores.resolve_alert(first)
    again = alerts.add_alert(sid, "oversold_not_backorderable", "Widget short", order_id="7")

    assert again is not None
    assert sorted((a.order_id, a.id) for a in instance.stores.list_alerts(sid)) == [
        ("7", again),
        ("8", other),
    ]


def test_a_reconciliation_meeting_a_5xx_ends_quietly_and_the_next_pass_does_it(
    in_process: Instance, sandbox: Sandbox
) -> None:
    store_id = in_process.store_id
    checkpoint = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    in_process.stores.update(store_id, reconcile_checkpoint=checkpoint)
    order = short_order(sandbox)  # its webhook never came
    sandbox.faults.update({"error_rate": 1.0})

    assert worker.reconcile_store(store_id) == 0  # no exception: the job does not fail

    store = in_process.stores.get(store_id)
    assert store is not None and store.reconcile_checkpoint == checkpoint  # not moved on
    assert InboxRepository(in_process.db).list(store_id) == []
    sandbox.faults.update({"error_rate": 0.0})
    assert worker.reconcile_store(store_id) == 1
    [event] = InboxRepository(in_process.db).list(store_id)
    assert (event.resource_id, event.source) == (str(order["id"]), "reconcile")


def test_a_reconciliation_losing_redis_midway_ends_quietly_and_the_relay_queues_its_event(
    in_process: Instance, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Redis goes away (killed, restarting) after the store was read: the job must not fail (a
    # failed job keeps its unique id and blocks the store's reconciliation until it expires).
    store_id = in_process.store_id
    checkpoint = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    in_process.stores.update(store_id, reconcile_checkpoint=checkpoint)
    order = short_order(sandbox)  # its webhook never came

    def redis_away(connection: redis.Redis, event_id: int) -> bool:
        raise redis.ConnectionError("Connection refused")

    monkeypatch.setattr(worker, "enqueue_event", redis_away)

    assert worker.reconcile_store(store_id) == 0  # no exception: the job does not fail

    store = in_process.stores.get(store_id)
    assert store is not None and store.reconcile_checkpoint == checkpoint  # not moved on
    [event] = InboxRepository(in_process.db).list(store_id)
    assert (event.resource_id, event.source, event.status) == (
        str(order["id"]),
        "reconcile",
        "pending",  # the relay puts it on the queue once Redis is back
    )
    assert in_process.redis.keys("rq:job:*") == []
