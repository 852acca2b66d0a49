"""The periodic jobs on RQ's scheduler, and each worker's guardian thread.

Periodic jobs (plugin/adapters/queue/jobs.py `PERIODIC`): the reaper, re-enqueuing lost events
and looking for stores due a reconciliation. Each run schedules its successor first, and every
worker start (and its guardian, every `reap_tick` seconds) seeds the chains again. Their
intervals are the worker's timings (plugin/config.py `WorkerTimings`).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time

import redis
from rq.exceptions import DuplicateJobError

from plugin.adapters.queue.jobs import PERIODIC, QUEUE_NAME, event_queue, periodic_job_id
from plugin.adapters.queue.reaper import reap_abandoned
from plugin.config import WorkerTimings

log = logging.getLogger(__name__)


def periodic_intervals(timings: WorkerTimings) -> dict[str, int]:
    """Seconds between runs of each periodic job: the reaper, re-enqueuing lost events and
    looking for stores due a reconciliation (each store's own interval still applies)."""
    return {
        "reap_abandoned": timings.reap_interval,
        "requeue_pending": timings.requeue_interval,
        "reconcile_all": timings.reconcile_tick,
        # Delay notices (issue 15, jobs/delay_notices.py): BACKORDERS_DELAY_TICK, 300 s.
        "check_delays_all": timings.delay_tick,
        # Lapsing card authorisations (issue 16): BACKORDERS_AUTHORISATION_TICK, 300 s.
        "warn_authorisations_all": timings.authorisation_tick,
    }


def schedule_periodic(connection: redis.Redis, name: str, timings: WorkerTimings) -> bool:
    """Schedule the next run of periodic job `name` with RQ's scheduler, once.

    Runs fall on multiples of the interval and the job id names that instant, so every
    process computing "the next run" computes the same job; `unique=True` keeps one of them.
    """
    kind = PERIODIC[name]
    interval = periodic_intervals(timings)[name]
    due = (math.floor(time.time() / interval) + 1) * interval
    try:
        event_queue(connection).enqueue_at(
            dt.datetime.fromtimestamp(due, dt.UTC),
            kind.name,
            job_id=periodic_job_id(name, due),
            unique=True,
            result_ttl=kind.result_ttl,
            failure_ttl=kind.failure_ttl,
            job_timeout=kind.timeout,
        )
    except DuplicateJobError:
        return False
    return True


def ensure_schedules(connection: redis.Redis, timings: WorkerTimings) -> None:
    """Seed every periodic job's chain (idempotent)."""
    for name in periodic_intervals(timings):
        schedule_periodic(connection, name, timings)


def start_guardian(
    connection: redis.Redis, stop: threading.Event, timings: WorkerTimings
) -> threading.Thread:
    """Run the reaper in this worker's main process every `timings.reap_tick` seconds, and seed
    the periodic jobs' chains again (a Redis that restarted may have lost them; seeding an
    existing run is a no-op).

    It does not depend on RQ's scheduler (whose lock a killed worker holds for up to 61 s) nor
    on a free worker to run a job, so a job of a dead worker is back on the queue within
    `timings.reap_stale + timings.reap_tick` seconds while any worker lives.
    """

    def guard() -> None:
        while not stop.wait(timings.reap_tick):
            try:
                reap_abandoned(connection, [QUEUE_NAME], stale_after=timings.reap_stale)
                ensure_schedules(connection, timings)
            except redis.RedisError as exc:  # Redis away for a moment: try again next tick
                log.warning("guardian pass failed: %s", exc)

    thread = threading.Thread(target=guard, name="reaper", daemon=True)
    thread.start()
    return thread
