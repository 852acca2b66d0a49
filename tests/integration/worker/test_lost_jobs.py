"""Jobs Redis lost (it crashed within its fsync interval or restarted empty): the inbox still
knows the events, and the worker puts them back; the periodic chains are seeded again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

import worker
from plugin.adapters.queue import scheduler
from plugin.adapters.queue.jobs import event_job_id, event_queue
from plugin.adapters.queue.relay import requeue_vanished
from plugin.adapters.sql.inbox import InboxRepository
from plugin.config import WorkerTimings
from tests.integration.worker.conftest import Instance, Sandbox, wait_until
from tests.integration.worker.test_worker_process import children_of, short_order


def lose_job(client: redis.Redis, event_id: int) -> None:
    """What a Redis that lost its data leaves: no job hash, no queue entry."""
    job_id = event_job_id(event_id)
    event_queue(client).remove(job_id)
    client.delete(Job.key_for(job_id))


def test_only_enqueued_events_whose_job_is_gone_are_enqueued_again(instance: Instance) -> None:
    inbox = InboxRepository(instance.db)
    lost = instance.add_event("101", "2026-01-01T10:00:00")
    kept = instance.add_event("102", "2026-01-01T10:00:00")
    finished = instance.add_event("103", "2026-01-01T10:00:00")
    pending = InboxRepository(instance.db).add(
        instance.store_id, "order.created", "104", "2026-01-01T10:00:00", "webhook"
    )
    assert pending is not None
    lose_job(instance.redis, lost)
    lose_job(instance.redis, finished)
    assert inbox.mark_done(finished)

    assert requeue_vanished(instance.db, instance.redis, older_than_s=60) == 0  # too recent
    assert event_queue(instance.redis).job_ids == [event_job_id(kept)]

    assert requeue_vanished(instance.db, instance.redis, older_than_s=0) == 1
    assert event_queue(instance.redis).job_ids == [event_job_id(kept), event_job_id(lost)]
    assert requeue_vanished(instance.db, instance.redis, older_than_s=0) == 0  # now it exists
    job = Job.fetch(event_job_id(lost), connection=instance.redis, serializer=JSONSerializer)
    assert (job.func_name, job.args) == ("worker.process_event", [lost])  # JSON: a list
    # The pending event is the pending requeue's business, the finished one nobody's.
    assert [e.status for e in (inbox.get(pending), inbox.get(finished))] == ["pending", "done"]


def test_a_worker_starting_runs_the_events_whose_jobs_redis_lost(
    instance: Instance, sandbox: Sandbox
) -> None:
    order = short_order(sandbox)
    event_id = instance.add_event(str(order["id"]), order["date_modified_gmt"])
    lose_job(instance.redis, event_id)
    assert instance.event(event_id).status == "enqueued"

    # The periodic requeue is far away: only the worker's start can find the lost job.
    instance.start_worker("w-lost", BACKORDERS_REQUEUE_INTERVAL="3600")

    wait_until(lambda: instance.event(event_id).status == "done", 30, "the lost event to run")
    assert len(children_of(sandbox, order["id"])) == 1


def test_the_periodic_requeue_enqueues_lost_and_pending_events(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in instance.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(worker, "_runtime", None)
    monkeypatch.setattr(worker, "VANISHED_OLDER_THAN", 0)
    monkeypatch.setattr(worker, "PENDING_OLDER_THAN", 0)
    lost = instance.add_event("201", "2026-01-01T10:00:00")
    lose_job(instance.redis, lost)
    pending = InboxRepository(instance.db).add(
        instance.store_id, "order.created", "202", "2026-01-01T10:00:00", "webhook"
    )
    assert pending is not None
    time.sleep(0.01)  # both events are older than "now" when the requeue looks
    try:
        assert worker.requeue_pending() == 2
        assert worker.requeue_pending() == 0
    finally:
        assert worker._runtime is not None
        worker._runtime.db.dispose()
    assert sorted(event_queue(instance.redis).job_ids) == sorted(
        [event_job_id(lost), event_job_id(pending)]
    )


@pytest.fixture
def guardian(instance: Instance) -> Iterator[Instance]:
    stop = threading.Event()
    thread = scheduler.start_guardian(instance.redis, stop, WorkerTimings(reap_tick=0.2))
    yield instance
    stop.set()
    thread.join(timeout=5)


def test_the_guardian_seeds_periodic_chains_that_redis_lost(guardian: Instance) -> None:
    registry = ScheduledJobRegistry(queue=event_queue(guardian.redis))

    def chains() -> list[str]:
        # Every registered run: nothing here runs a due run, and while it waits in the registry
        # the guardian seeds no other run of its chain (scheduler.py), so there is one a chain
        # even when a chain's time passes during the test.
        return sorted(i.rpartition("-")[0] for i in registry.get_job_ids(cleanup=False))

    expected = [
        "periodic-check_delays_all",
        "periodic-reap_abandoned",
        "periodic-reconcile_all",
        "periodic-requeue_pending",
        "periodic-warn_authorisations_all",
    ]
    wait_until(lambda: chains() == expected, 5, "the chains to be seeded")
    guardian.redis.flushall()  # Redis came back empty
    assert chains() == []
    wait_until(lambda: chains() == expected, 5, "the chains to be seeded again")
    time.sleep(0.5)  # more passes add nothing: one pending run per chain
    assert chains() == expected
