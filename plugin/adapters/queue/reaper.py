"""Requeue jobs whose worker died (SIGKILL, OOM, machine lost) in the middle of them.

RQ 3.0 notices an abandoned job only when the job's StartedJobRegistry entry has expired
(score = last heartbeat + min(job timeout, job_monitoring_interval) + 60 s) *and* some worker
runs its registry maintenance, which happens every `maintenance_interval` (10 minutes by
default). Even then `StartedJobRegistry.cleanup` only retries the job if it has retries left,
otherwise it fails it with `AbandonedJobError` (rq/registry.py). A split half-way done must
instead be finished soon, so the reaper looks at each started execution's own heartbeat
(`rq:execution:<job>:<execution>` hash, field `last_heartbeat`, refreshed by the worker's main
process every `job_monitoring_interval` while the work horse runs; rq/executions.py) and puts
a job whose heartbeat is older than `stale_after` back at the front of its queue. The job is
safe to run again: every use case is idempotent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from plugin.config import WorkerTimings

log = logging.getLogger(__name__)

# Heartbeats come every `job_monitoring_interval`: 10 s in `python worker.py` (plain `rq worker`
# must be started with `--job-monitoring-interval 10`; its default is 30 s). Four missed beats
# mean the worker is gone.
DEFAULT_STALE_AFTER = WorkerTimings.reap_stale  # BACKORDERS_REAP_STALE (plugin/config.py)


def reap_abandoned(
    connection: redis.Redis,
    queue_names: Iterable[str],
    *,
    stale_after: float = DEFAULT_STALE_AFTER,
    clock: Callable[[], float] = time.time,
) -> list[str]:
    """Requeue started jobs whose execution heartbeat is older than `stale_after` seconds;
    returns their ids."""
    requeued: list[str] = []
    now = clock()
    for name in queue_names:
        queue = Queue(name, connection=connection, serializer=JSONSerializer)
        registry = StartedJobRegistry(queue=queue)
        for job_id, execution_id in registry.get_job_and_execution_ids(cleanup=False):
            heartbeat = _last_heartbeat(connection, job_id, execution_id)
            if heartbeat is not None and now - heartbeat < stale_after:
                continue
            composite = f"{job_id}:{execution_id}"
            # Whoever removes the entry owns the requeue: two reapers never both enqueue it.
            if not connection.zrem(registry.key, composite):
                continue
            connection.delete(Execution(execution_id, job_id, connection).key)
            try:
                job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            except NoSuchJobError:
                continue
            if job.get_status() != JobStatus.STARTED:
                continue  # it finished or failed after all; nothing to redo
            job.started_at = None
            queue.enqueue_job(job, at_front=True)
            age = "unknown" if heartbeat is None else f"{now - heartbeat:.0f}s"
            log.warning("requeued abandoned job=%s queue=%s heartbeat_age=%s", job_id, name, age)
            requeued.append(job_id)
    return requeued


def _last_heartbeat(connection: redis.Redis, job_id: str, execution_id: str) -> float | None:
    """The execution's last heartbeat (Unix seconds), or None when its hash has expired."""
    raw = connection.hget(Execution(execution_id, job_id, connection).key, "last_heartbeat")
    if raw is None:
        return None
    return float(raw)
