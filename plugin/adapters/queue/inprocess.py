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
  than its `stale_after` for abandoned. Here a thread (`Heartbeats`) sends the forking worker's
  heartbeat (worker, execution and job, `BaseWorker.maintain_heartbeats`) about every
  `job_monitoring_interval` while the job runs, and the TTLs are the forking worker's
  (`BaseWorker.get_heartbeat_ttl`).
- A killed worker. SIGKILL of the worker kills its job with it (a forked horse, in a process
  group of its own, could outlive it): the job stays in the started registry without heartbeats,
  and the reaper or RQ's registry cleanup requeues it; every use case is idempotent.
- Timeouts: the job's timeout is RQ's death penalty (SIGALRM) in the worker's main thread, as in
  a horse. Shutdown: SIGTERM lets the running job finish (a second one stops it).

Stopping: RQ's pubsub listener (the thread that takes commands such as stop-job) looks at its stop
flag between waits of `sleep_time`, 60 s in RQ; if it has already read the reply to RQ's
UNSUBSCRIBE when the worker tears down, it waits that long for a new subscription, and
redis-py's `PubSubWorkerThread.stop()` waits for it: a worker asked to stop (SIGTERM, the end of
a burst) took up to a minute, and a supervisor's 15 s grace ended in SIGKILL. Here it waits
`PUBSUB_WAIT` (tests/integration/worker/test_worker_stop.py).

What differs: a job that crashes the interpreter (not an exception) takes the worker down with
it; the process manager (run.py's supervisor, systemd) starts it again and the job is reaped.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import BaseWorker, WorkerStatus

log = logging.getLogger(__name__)

# Seconds RQ's pubsub listener waits between looks at its stop flag (RQ's own: 60).
PUBSUB_WAIT = 0.5


class InProcessWorker(SimpleWorker):
    """Runs each job in this process, beating every `job_monitoring_interval` meanwhile."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        beats = self._heartbeats()
        beats.running(job, execution)
        try:
            self.perform_job(job, queue, execution)
        finally:
            beats.over()
        self.set_state(WorkerStatus.IDLE)

    def subscribe(self) -> None:
        # RQ's `subscribe` with a short listener wait (PUBSUB_WAIT, the module's docstring).
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment] # RQ: None
            sleep_time=PUBSUB_WAIT, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        # The forking worker's TTL: beats come while the job runs (SimpleWorker's is the whole
        # job timeout + 60 s, since it sends none).
        return BaseWorker.get_heartbeat_ttl(self, job, working_time)

    def _heartbeats(self) -> Heartbeats:
        beats: Heartbeats | None = getattr(self, "_beats", None)
        if beats is None:
            beats = self._beats = Heartbeats(self)
        return beats


class Heartbeats:
    """The heartbeats of the job a worker runs, sent by one thread for the worker's life.

    A thread started and joined for every job cost a split (two jobs) more CPU than RQ's own
    bookkeeping of a job (README "Benchmarks", `worker_cpu`). This one looks every quarter of
    `job_monitoring_interval` and beats once the running job has gone that long without a beat,
    so a job's beats are between one and one and a quarter intervals apart (a forking worker's
    monitor beats every interval; its TTL, `get_heartbeat_ttl`, is the interval plus 60 s).
    A job never gets a beat after `over`: a beat in flight is waited for."""

    def __init__(self, worker: BaseWorker) -> None:
        self.worker = worker
        self._mutex = threading.Lock()  # held while a beat is sent, and to change the job
        self._job: tuple[Job, Execution] | None = None
        self._since = 0.0  # when the job started or last beat
        self._thread: threading.Thread | None = None

    def running(self, job: Job, execution: Execution) -> None:
        with self._mutex:
            self._job, self._since = (job, execution), time.monotonic()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="heartbeats", daemon=True)
            self._thread.start()

    def over(self) -> None:
        with self._mutex:
            self._job = None

    def _run(self) -> None:
        interval = self.worker.job_monitoring_interval
        while True:
            time.sleep(interval / 4)
            with self._mutex:
                if self._job is None or time.monotonic() - self._since < interval:
                    continue
                job, execution = self._job
                try:
                    self.worker.maintain_heartbeats(job, execution)
                except redis.RedisError as exc:
                    # Redis away for a moment: the next beat tries again (a forking worker's
                    # monitor would fail the same way; the reaper waits several beats).
                    log.warning("heartbeat job=%s failed: %s", job.id, type(exc).__name__)
                self._since = time.monotonic()
