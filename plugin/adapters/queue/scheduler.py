"""The periodic jobs on RQ's scheduler, and each worker's guardian thread.

Periodic jobs (plugin/adapters/queue/jobs.py `PERIODIC`): the reaper, re-enqueuing lost events
and looking for stores due a reconciliation. Each run schedules its successor first, and every
worker start (and its guardian, every `reap_tick` seconds) seeds the chains again. Their
intervals are the worker's timings (plugin/config.py `WorkerTimings`).

At most one run of each waits: a run is scheduled only while the last one scheduled is no longer
waiting (RQ's job status: not `scheduled`, `queued` or `deferred`). Without that, under a backlog
every seeding scheduled one more run behind the one still queued (a chaos run saw 111 queued
`reconcile_all`); one queued run does what the piled-up copies would have.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time

import redis
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

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


# KEYS[1]: the chain's key naming its last scheduled run, KEYS[2]: RQ's scheduled registry,
# KEYS[3]: the queue; ARGV[1]: RQ's job key prefix, ARGV[2]: the new run's id, ARGV[3] and
# ARGV[4]: RQ's statuses `scheduled` and `queued`. Claims the chain for the new run (1) unless
# the run it names still waits (0): scheduled and in the registry, or queued and in the queue
# (a run Redis lost from either cannot stop the chain). One step, so two processes cannot both
# pass the check. LPOS needs Redis 6.0.6; an older one counts a queued run as waiting.
_CLAIM_SCRIPT = """
local last = redis.call('GET', KEYS[1])
if last then
  local status = redis.call('HGET', ARGV[1] .. last, 'status')
  if status == ARGV[3] and redis.call('ZSCORE', KEYS[2], last) then return 0 end
  if status == ARGV[4] then
    local at = redis.pcall('LPOS', KEYS[3], last)
    if type(at) == 'table' or at then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""


def chain_key(name: str) -> str:
    """The key naming the last run scheduled of periodic job `name`."""
    return f"backorders:periodic:{name}"


def schedule_periodic(connection: redis.Redis, name: str, timings: WorkerTimings) -> bool:
    """Schedule the next run of periodic job `name` with RQ's scheduler, once, unless a run
    of it is still waiting (module docstring).

    Runs fall on multiples of the interval and the job id names that instant, so every
    process computing "the next run" computes the same job; `unique=True` keeps one of them.
    """
    kind = PERIODIC[name]
    interval = periodic_intervals(timings)[name]
    due = (math.floor(time.time() / interval) + 1) * interval
    job_id = periodic_job_id(name, due)
    queue = event_queue(connection)
    claimed = connection.eval(
        _CLAIM_SCRIPT,
        3,
        chain_key(name),
        queue.scheduled_job_registry.key,
        queue.key,
        Job.redis_job_namespace_prefix,
        job_id,
        JobStatus.SCHEDULED.value,
        JobStatus.QUEUED.value,
    )
    if not claimed:
        return False
    try:
        queue.enqueue_at(
            dt.datetime.fromtimestamp(due, dt.UTC),
            kind.name,
            job_id=job_id,
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
