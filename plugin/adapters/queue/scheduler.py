"""The periodic jobs on RQ's scheduler, and each worker's guardian thread.

Periodic jobs (plugin/adapters/queue/jobs.py `PERIODIC`): the reaper, re-enqueuing lost events
and looking for stores due a reconciliation. Each run schedules its successor first, and every
worker start (and its guardian, every `reap_interval()` seconds) seeds the chains again.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time

import redis
from rq.exceptions import DuplicateJobError

from plugin.adapters.queue.jobs import PERIODIC, QUEUE_NAME, event_queue, periodic_job_id
from plugin.adapters.queue.reaper import DEFAULT_STALE_AFTER, reap_abandoned

log = logging.getLogger(__name__)


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def reap_interval() -> float:
    """Seconds between reaper passes of each worker's guardian thread (BACKORDERS_REAP_TICK)."""
    return max(0.2, _env_seconds("BACKORDERS_REAP_TICK", 10))


def reap_stale_after() -> float:
    """Heartbeat age that marks a job abandoned (BACKORDERS_REAP_STALE)."""
    return _env_seconds("BACKORDERS_REAP_STALE", DEFAULT_STALE_AFTER)


def periodic_intervals() -> dict[str, int]:
    """Seconds between runs of each periodic job: the reaper (BACKORDERS_REAP_INTERVAL, 15 s),
    re-enqueuing lost events (BACKORDERS_REQUEUE_INTERVAL, 60 s) and looking for stores due a
    reconciliation (BACKORDERS_RECONCILE_TICK, 60 s; each store's own interval still applies)
    and delay notices (BACKORDERS_DELAY_TICK, 300 s)."""
    return {
        "reap_abandoned": max(1, int(_env_seconds("BACKORDERS_REAP_INTERVAL", 15))),
        "requeue_pending": max(1, int(_env_seconds("BACKORDERS_REQUEUE_INTERVAL", 60))),
        "reconcile_all": max(1, int(_env_seconds("BACKORDERS_RECONCILE_TICK", 60))),
        # Delay notices (issue 15, jobs/delay_notices.py): BACKORDERS_DELAY_TICK, 300 s.
        "check_delays_all": max(1, int(_env_seconds("BACKORDERS_DELAY_TICK", 300))),
    }


def schedule_periodic(connection: redis.Redis, name: str) -> bool:
    """Schedule the next run of periodic job `name` with RQ's scheduler, once.

    Runs fall on multiples of the interval and the job id names that instant, so every
    process computing "the next run" computes the same job; `unique=True` keeps one of them.
    """
    kind = PERIODIC[name]
    interval = periodic_intervals()[name]
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


def ensure_schedules(connection: redis.Redis) -> None:
    """Seed every periodic job's chain (idempotent)."""
    for name in periodic_intervals():
        schedule_periodic(connection, name)


def start_guardian(connection: redis.Redis, stop: threading.Event) -> threading.Thread:
    """Run the reaper in this worker's main process every `reap_interval()` seconds, and seed
    the periodic jobs' chains again (a Redis that restarted may have lost them; seeding an
    existing run is a no-op).

    It does not depend on RQ's scheduler (whose lock a killed worker holds for up to 61 s) nor
    on a free worker to run a job, so a job of a dead worker is back on the queue within
    `reap_stale_after() + reap_interval()` seconds while any worker lives.
    """

    def guard() -> None:
        while not stop.wait(reap_interval()):
            try:
                reap_abandoned(connection, [QUEUE_NAME], stale_after=reap_stale_after())
                ensure_schedules(connection)
            except redis.RedisError as exc:  # Redis away for a moment: try again next tick
                log.warning("guardian pass failed: %s", exc)

    thread = threading.Thread(target=guard, name="reaper", daemon=True)
    thread.start()
    return thread
