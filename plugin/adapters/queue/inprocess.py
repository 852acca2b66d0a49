"""`InProcessWorker`: RQ's `SimpleWorker` (each job runs in the worker's own process, no work horse
forked per job) with the forking worker's heartbeats kept while a job runs.

Why: a forked work horse starts every job cold. An empty job cost 25-28 ms of worker CPU forked
(the fork, and RQ's bookkeeping in a new process with new Redis connections) against about 5 ms
here, and a split is two jobs (the event, then its e-mail); every horse also compiled again each
SQL statement and nested schema it used, because what it built died with it. A split took about
230 ms of worker CPU forked and 66-71 ms here (bench/worker_cpu.py, README "Benchmarks").

What stays as with the forking worker (tests/integration/worker, tests/e2e/test_worker_crash.py):
- Heartbeats. RQ's `SimpleWorker` cannot beat while its only thread runs the job, so it sets one
  long TTL up front; the reaper (plugin/adapters/queue/reaper.py) would then take any job longer
  than its `stale_after` for abandoned. Here a thread sends the forking worker's heartbeat
  (worker, execution and job, `BaseWorker.maintain_heartbeats`) every `job_monitoring_interval`
  while the job runs, and the TTLs are the forking worker's (`BaseWorker.get_heartbeat_ttl`).
- A killed worker. SIGKILL of the worker kills its job with it (a forked horse, in a process
  group of its own, could outlive it): the job stays in the started registry without heartbeats,
  and the reaper or RQ's registry cleanup requeues it; every use case is idempotent.
- Timeouts: the job's timeout is RQ's death penalty (SIGALRM) in the worker's main thread, as in
  a horse. Shutdown: SIGTERM lets the running job finish (a second one stops it).

What differs: a job that crashes the interpreter (not an exception) takes the worker down with
it; the process manager (run.py's supervisor, systemd) starts it again and the job is reaped.
"""

from __future__ import annotations

import logging
import threading

import redis
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, WorkerStatus

log = logging.getLogger(__name__)


class InProcessWorker(SimpleWorker):
    """Runs each job in this process, beating every `job_monitoring_interval` meanwhile."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        finished = threading.Event()
        beats = threading.Thread(
            target=self._beat_until,
            args=(finished, job, execution),
            name=f"heartbeat-{job.id}",
            daemon=True,
        )
        beats.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            finished.set()
            beats.join()
        self.set_state(WorkerStatus.IDLE)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # The forking worker's TTL: beats come while the job runs (SimpleWorker's is the whole
        # job timeout + 60 s, since it sends none).
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def _beat_until(self, finished: threading.Event, job: Job, execution: Execution) -> None:
        while not finished.wait(self.job_monitoring_interval):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError as exc:
                # Redis away for a moment: the next beat tries again (a forking worker's
                # monitor would fail the same way; the reaper waits several beats).
                log.warning("heartbeat job=%s failed: %s", job.id, type(exc).__name__)
