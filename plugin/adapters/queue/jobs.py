"""Every job the workers run, in one registry: its name, id, retries and timeout.

Jobs are enqueued by name (`worker.<function>`: what RQ imports in the work horse), so the web
side never imports the worker. A job's id is deterministic wherever a second enqueue must be a
no-op (`unique`): one job per inbox event, per outbox message, per cancellation request, per
store and product being allocated, per store being reconciled, per periodic run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.exceptions import NoScriptError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import utcformat

QUEUE_NAME = "backorders"


def event_queue(connection: redis.Redis) -> Queue:
    """The queue, with the JSON serializer every producer and worker must share."""
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


@dataclass(frozen=True)
class JobKind:
    """One kind of job: the function it runs, how long it may run and when it is retried."""

    name: str  # what RQ imports and calls, e.g. "worker.process_event"
    timeout: int  # seconds a run may take
    retry_intervals: tuple[int, ...] = ()  # seconds before each retry of a failed run
    result_ttl: int | None = None  # seconds a finished job is kept (None: RQ's default)
    failure_ttl: int | None = None  # seconds a failed job is kept (None: RQ's default)

    def retry(self, intervals: Sequence[int] | None = None) -> Retry | None:
        """RQ's retry policy of this kind (or of `intervals` instead)."""
        chosen = list(self.retry_intervals if intervals is None else intervals)
        return Retry(max=len(chosen), interval=chosen) if chosen else None

    def enqueue(
        self,
        connection: redis.Redis,
        *args: Any,
        job_id: str,
        description: str,
        retry_intervals: Sequence[int] | None = None,
    ) -> Job | None:
        """Enqueue one run as job `job_id`; None when a job of that id exists (RQ's `unique`
        refuses an id whose job hash exists, rq/scripts.py `save_unique_job`)."""
        try:
            return event_queue(connection).enqueue_call(
                self.name,
                args=args,
                job_id=job_id,
                unique=True,
                retry=self.retry(retry_intervals),
                timeout=self.timeout,
                result_ttl=self.result_ttl,
                failure_ttl=self.failure_ttl,
                description=description,
            )
        except DuplicateJobError:
            return None

    def enqueue_many(
        self,
        connection: redis.Redis,
        runs: Sequence[tuple[str, tuple[Any, ...], str]],
        retry_intervals: Sequence[int] | None = None,
    ) -> list[bool]:
        """Enqueue runs `(job id, args, description)` in one Redis round trip, atomic, as
        `enqueue` would one by one (the job hash RQ builds, `unique`); whether each job was
        created. Raises redis.RedisError when Redis cannot be reached."""
        if not runs:
            return []
        encode: Callable[[object], bytes] = connection.get_encoder().encode
        now = encode(utcformat(dt.datetime.now(dt.UTC)))
        keys: list[str | bytes] = [
            Queue.redis_queue_namespace_prefix + QUEUE_NAME,
            Queue.redis_queues_keys,
        ]
        arguments: list[str | bytes] = [_shared_job_fields(connection, self, retry_intervals)]
        for job_id, args, description in runs:
            keys.append(Job.key_for(job_id))
            call = _serialize((self.name, None, args, {}))
            arguments += (job_id, now, zlib.compress(call), description)
        try:
            created = connection.evalsha(_ENQUEUE_UNIQUE_SHA, len(keys), *keys, *arguments)
        except NoScriptError:  # a new or restarted Redis: load the script once
            connection.script_load(_ENQUEUE_UNIQUE)
            created = connection.evalsha(_ENQUEUE_UNIQUE_SHA, len(keys), *keys, *arguments)
        return [bool(flag) for flag in created]

    def enqueue_missing(
        self, connection: redis.Redis, runs: Sequence[tuple[str, tuple[Any, ...], str]]
    ) -> int:
        """Enqueue again the runs `(job id, args, description)` whose job Redis no longer has;
        returns how many were created. A job that exists in any state (queued, running,
        waiting for a retry, failed) is left alone.

        What a Redis that lost data (a crash within its fsync interval, a restart without
        persistence, a flush) or was away at the moment of an enqueue leaves behind: nothing
        else would ever run those. One round trip asks which jobs exist (EXISTS, pipelined);
        one more enqueues the missing ones, where `unique` refuses an id that a concurrent
        caller has just created. Raises redis.RedisError when Redis cannot be reached."""
        if not runs:
            return 0
        pipeline = connection.pipeline(transaction=False)
        for job_id, _args, _description in runs:
            pipeline.exists(Job.key_for(job_id))
        found = pipeline.execute()
        missing = [run for run, exists in zip(runs, found, strict=True) if not exists]
        return sum(self.enqueue_many(connection, missing))


# RQ's `enqueue_call(unique=True)` costs two round trips per job: a pipeline registering the
# queue name, then its atomic check-and-save script (rq/queue.py `enqueue_job`, rq/scripts.py).
# Here one script enqueues any number of jobs of one kind: for each, refuse when its hash
# exists, otherwise write the hash RQ itself builds (`Job.to_dict`) and push the id onto the
# queue; then register the queue. KEYS: the queue, the set of queues, then one job hash per run.
# ARGV: the fields every job of the kind shares, as one JSON array of name and value (redis-py
# packs each argument in Python: thirty of them per job cost more than the rest of the
# enqueue), then per run its job id, time, data and description. Returns 1 (created) or 0 per
# run.
_ENQUEUE_UNIQUE = """
local shared = cjson.decode(ARGV[1])
local created = {}
for i = 3, #KEYS do
  local at = 2 + (i - 3) * 4
  if redis.call('EXISTS', KEYS[i]) == 1 then
    created[#created + 1] = 0
  else
    redis.call('HSET', KEYS[i], 'created_at', ARGV[at + 1], 'enqueued_at', ARGV[at + 1],
      'data', ARGV[at + 2], 'description', ARGV[at + 3])
    redis.call('HSET', KEYS[i], unpack(shared))
    redis.call('RPUSH', KEYS[1], ARGV[at])
    created[#created + 1] = 1
  end
end
redis.call('SADD', KEYS[2], KEYS[1])
return created
"""
# Redis names a loaded script by the SHA-1 of its text.
_ENQUEUE_UNIQUE_SHA = hashlib.sha1(_ENQUEUE_UNIQUE.encode(), usedforsecurity=False).hexdigest()

# The fields of `Job.to_dict` that differ between runs of a kind; RQ builds the others, the same
# for every run of the kind (and retry policy), once per process (`_shared_job_fields`).
_PER_RUN_FIELDS = ("created_at", "enqueued_at", "data", "description")
_SHARED_FIELDS: dict[tuple[str, tuple[int, ...] | None], bytes] = {}
_SHARED_FIELDS_LOCK = threading.Lock()
_serialize = cast(Callable[[object], bytes], JSONSerializer.dumps)  # what RQ stores as `data`


def _shared_job_fields(
    connection: redis.Redis, kind: JobKind, retry_intervals: Sequence[int] | None
) -> bytes:
    """The hash fields every job of `kind` shares, as a JSON array of name and value."""
    key = (kind.name, None if retry_intervals is None else tuple(retry_intervals))
    shared = _SHARED_FIELDS.get(key)
    if shared is None:
        encode: Callable[[object], bytes] = connection.get_encoder().encode
        template = Job.create(
            kind.name,
            args=(0,),
            connection=connection,
            id="template",
            origin=QUEUE_NAME,
            status=JobStatus.QUEUED,
            retry=kind.retry(retry_intervals),
            timeout=kind.timeout,
            result_ttl=kind.result_ttl,
            failure_ttl=kind.failure_ttl,
            serializer=JSONSerializer,
        )
        fields = [
            encode(item).decode()  # the text redis-py would send for it
            for name, value in template.to_dict().items()
            if value is not None and name not in _PER_RUN_FIELDS
            for item in (name, value)
        ]
        shared = json.dumps(fields).encode()
        with _SHARED_FIELDS_LOCK:
            _SHARED_FIELDS[key] = shared
    return shared


# Transient failures (platform 5xx/429, timeouts, SMTP) are retried with growing pauses.
PROCESS_EVENT = JobKind("worker.process_event", 300, (10, 30, 90, 270, 810))
ALLOCATE_PRODUCT = JobKind(
    "worker.allocate_product", 300, (5, 15, 30, 60, 120), result_ttl=0, failure_ttl=60
)
CANCEL_LINE = JobKind("worker.cancel_line", 120, (5, 15, 30, 60, 120), failure_ttl=3600)
SEND_MAIL = JobKind("worker.send_mail", 120, (10, 30, 90, 270, 810))
# Not retried: the next `reconcile_all` tick runs it again (the checkpoint did not move).
RECONCILE_STORE = JobKind("worker.reconcile_store", 600, result_ttl=0, failure_ttl=300)
# The products page's bulk change of the backorder setting (jobs/bulk.py).
RUN_BULK = JobKind("jobs.bulk.run_bulk_backorders", 1800)
# A purchase order receipt raising store stock (jobs/purchasing.py): resumes from its record.
CARRY_OUT_RECEIPT = JobKind(
    "jobs.purchasing.carry_out_receipt", 300, (5, 15, 30, 60, 120, 300), failure_ttl=3600
)
# The merchant's manual backorder of an order's units (jobs/manual_splitting.py): one job per
# order at a time (a double submit is one job), gone once it finished (result_ttl=0) so the
# split ledger answers a later request.
SPLIT_BY_HAND = JobKind(
    "jobs.manual_splitting.split_by_hand", 300, (5, 15, 30, 60, 120), result_ttl=0,
    failure_ttl=300,
)  # fmt: skip
# Customers' requests and delay notices (issue 15, jobs/): a fixed id per request or store.
CARRY_OUT_REQUEST = JobKind(
    "jobs.self_service.carry_out_request", 300, (5, 15, 30, 60, 120), failure_ttl=3600
)
CHECK_STORE_DELAYS = JobKind(
    "jobs.delay_notices.check_store_delays", 600, result_ttl=0, failure_ttl=3600
)
# Periodic jobs, each scheduling its next run (plugin/adapters/queue/scheduler.py).
PERIODIC = {
    name: JobKind(f"worker.{name}", 300, result_ttl=0, failure_ttl=3600)
    for name in (
        "reap_abandoned",
        "requeue_pending",
        "reconcile_all",
        "check_delays_all",
        "warn_authorisations_all",
    )
}
JOBS = (
    PROCESS_EVENT,
    ALLOCATE_PRODUCT,
    CANCEL_LINE,
    SEND_MAIL,
    RECONCILE_STORE,
    RUN_BULK,
    CARRY_OUT_RECEIPT,
    SPLIT_BY_HAND,
    CARRY_OUT_REQUEST,
    CHECK_STORE_DELAYS,
    *PERIODIC.values(),
)


def event_job_id(event_id: int) -> str:
    """The job of an inbox event."""
    return f"event-{event_id}"


def mail_job_id(message_id: int) -> str:
    """The job of one outbox message: a second enqueue of it is a no-op."""
    return f"mail-{message_id}"


def allocation_job_id(store_id: int, product_id: str) -> str:
    """One allocation job per store and product: duplicates collapse while one is queued."""
    return f"allocate-{store_id}-{product_id}"


def cancel_job_id(store_id: int, cancel_key: str, attempt: int) -> str:
    """One job per cancellation request (`attempt` counts the merchant's requests)."""
    return f"cancel-{store_id}-{cancel_key.replace(':', '-')}-{attempt}"


def receipt_job_id(store_id: int, receipt_key: str, attempt: int = 1) -> str:
    """One job per receipt (`attempt` counts the merchant's "carry out again")."""
    return f"receipt-{store_id}-{receipt_key.replace(':', '-')}-{attempt}"


def manual_split_job_id(store_id: int, order_id: str) -> str:
    """One manual backorder job per store and order while it is queued or running."""
    return f"manual-split-{store_id}-{order_id}"


def reconcile_job_id(store_id: int) -> str:
    """One reconciliation per store at a time."""
    return f"reconcile-{store_id}"


def periodic_job_id(name: str, due: int) -> str:
    """The run of periodic job `name` due at `due` (seconds since the epoch)."""
    return f"periodic-{name}-{due}"


# --- enqueueing (inbox events: plugin/adapters/queue/relay.py) -------------------------------


def enqueue_allocation(connection: redis.Redis, store_id: int, product_id: str) -> bool:
    """Enqueue `worker.allocate_product(store_id, product_id)`; False when one is queued.

    RQ's `unique` refuses an id whose job hash exists (rq/scripts.py `save_unique_job`): the
    hash lives while the job is queued or running, so finished jobs keep none (`result_ttl=0`,
    short `failure_ttl`). A job already running may have read the stock before this change,
    so then one follow-up job (its own id) is queued; further changes collapse into it.
    """
    for job_id in (
        allocation_job_id(store_id, str(product_id)),
        allocation_job_id(store_id, str(product_id)) + "-again",
    ):
        job = ALLOCATE_PRODUCT.enqueue(
            connection,
            store_id,
            str(product_id),
            job_id=job_id,
            description=f"allocate stock of product {product_id} in store {store_id}",
        )
        if job is not None:
            return True
        if _job_status(connection, job_id) != JobStatus.STARTED:
            return False
        # It may have read the old stock: queue the follow-up.
    return False


def _job_status(connection: redis.Redis, job_id: str) -> JobStatus | None:
    try:
        return Job.fetch(job_id, connection=connection, serializer=JSONSerializer).get_status()
    except NoSuchJobError:
        return None


def enqueue_cancellation(
    connection: redis.Redis, store_id: int, cancel_key: str, attempt: int
) -> bool:
    """Enqueue `worker.cancel_line(store_id, cancel_key)`; False when that job exists.

    Raises redis.RedisError when Redis cannot be reached.
    """
    job = CANCEL_LINE.enqueue(
        connection,
        store_id,
        cancel_key,
        job_id=cancel_job_id(store_id, cancel_key, attempt),
        description=f"cancel backorder line {cancel_key} in store {store_id}",
    )
    return job is not None


def mail_run(message_id: int) -> tuple[str, tuple[Any, ...], str]:
    """The `SEND_MAIL` run of one outbox message: (job id, args, description)."""
    return mail_job_id(message_id), (message_id,), f"send outbox message {message_id}"


def enqueue_mail(
    connection: redis.Redis, message_id: int, retry_intervals: Sequence[int] | None = None
) -> bool:
    """Enqueue `worker.send_mail(message_id)`; False when that job exists already. One round
    trip, as the relay enqueues events (`JobKind.enqueue_many`): it is every split's e-mail."""
    [created] = SEND_MAIL.enqueue_many(connection, [mail_run(message_id)], retry_intervals)
    return created


def enqueue_reconciliation(connection: redis.Redis, store_id: int) -> bool:
    """Enqueue `worker.reconcile_store(store_id)`; False when one runs or waits already."""
    job = RECONCILE_STORE.enqueue(
        connection,
        store_id,
        job_id=reconcile_job_id(store_id),
        description=f"reconcile store {store_id}",
    )
    return job is not None


def enqueue_receipt(
    connection: redis.Redis, store_id: int, receipt_key: str, attempt: int = 1
) -> bool:
    """Enqueue `jobs.purchasing.carry_out_receipt`; False when that job exists. Raises
    redis.RedisError when Redis cannot be reached (the receipt stays recorded; the purchase
    order's page runs it again)."""
    job = CARRY_OUT_RECEIPT.enqueue(
        connection,
        store_id,
        receipt_key,
        job_id=receipt_job_id(store_id, receipt_key, attempt),
        description=f"carry out receipt {receipt_key} in store {store_id}",
    )
    return job is not None


def enqueue_manual_split(
    connection: redis.Redis,
    store_id: int,
    order_id: str,
    units: dict[str, int],
    requested_by: str,
) -> bool:
    """Enqueue `jobs.manual_splitting.split_by_hand`; False when that order's job exists (a
    double submit). Raises redis.RedisError when Redis cannot be reached."""
    job = SPLIT_BY_HAND.enqueue(
        connection,
        store_id,
        order_id,
        units,
        requested_by,
        job_id=manual_split_job_id(store_id, order_id),
        description=f"put units of order {order_id} on backorder by hand in store {store_id}",
    )
    return job is not None
