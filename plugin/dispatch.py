"""Putting inbox events on the RQ queue. The web side enqueues by dotted path, so it never
imports the worker; job ids are deterministic so a second enqueue of one event is a no-op."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import zlib
from collections.abc import Callable
from typing import cast

import redis
from redis.exceptions import NoScriptError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.utils import utcformat

from plugin.storage.db import Database
from plugin.storage.repositories import InboxRepository

logger = logging.getLogger(__name__)

QUEUE_NAME = "backorders"
PROCESS_EVENT = "worker.process_event"
# Transient failures (platform 5xx/429, timeouts) are retried by RQ with growing pauses.
EVENT_RETRY_INTERVALS = [10, 30, 90, 270, 810]
EVENT_JOB_TIMEOUT_S = 300


def event_job_id(event_id: int) -> str:
    """The RQ job id of an inbox event."""
    return f"event-{event_id}"


def event_queue(connection: redis.Redis) -> Queue:
    """The queue, with the JSON serializer every producer and worker must share."""
    return Queue(QUEUE_NAME, connection=connection, serializer=JSONSerializer)


# RQ's `enqueue_call(unique=True)` costs two round trips: a pipeline registering the queue name,
# then its atomic check-and-save script (rq/queue.py `enqueue_job`, rq/scripts.py). The webhook
# answers after this call, so here both happen in one script: refuse when the job's hash exists,
# otherwise write the hash RQ itself builds (`Job.to_dict`), push the id onto the queue and
# register the queue, atomically. ARGV: job id, then the fields that differ per event as pairs,
# then the fields every event job shares as one JSON array of pairs (one argument instead of
# thirty: redis-py packs each argument in Python).
_ENQUEUE_UNIQUE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2, #ARGV - 1))
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[#ARGV])))
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], KEYS[2])
return 1
"""
# Redis names a loaded script by the SHA-1 of its text.
_ENQUEUE_UNIQUE_SHA = hashlib.sha1(_ENQUEUE_UNIQUE.encode(), usedforsecurity=False).hexdigest()
_EVENT_RETRY = Retry(max=len(EVENT_RETRY_INTERVALS), interval=EVENT_RETRY_INTERVALS)


def enqueue_event(connection: redis.Redis, event_id: int) -> bool:
    """Enqueue `worker.process_event(event_id)`; False when that job exists already.

    One Redis round trip, atomic, so concurrent callers create one job. Raises
    redis.RedisError when Redis cannot be reached (the event then stays 'pending').
    """
    job_id = event_job_id(event_id)
    keys: tuple[str | bytes, ...] = (
        Job.key_for(job_id),
        Queue.redis_queue_namespace_prefix + QUEUE_NAME,
        Queue.redis_queues_keys,
    )
    arguments = (*keys, job_id, *_event_job_fields(connection, event_id))
    try:
        created = connection.evalsha(_ENQUEUE_UNIQUE_SHA, len(keys), *arguments)
    except NoScriptError:  # a new or restarted Redis: load the script once
        connection.script_load(_ENQUEUE_UNIQUE)
        created = connection.evalsha(_ENQUEUE_UNIQUE_SHA, len(keys), *arguments)
    return bool(created)


# The fields of `Job.to_dict` that differ between event jobs; the others are the same for every
# event, so they are built (by RQ) and encoded once per process. Building and encoding the whole
# hash on every webhook cost more CPU than the rest of the request (issue 7, webhook ingest).
_PER_EVENT_FIELDS = ("created_at", "enqueued_at", "data", "description")
_shared_fields: bytes | None = None
_serialize = cast(Callable[[object], bytes], JSONSerializer.dumps)  # what RQ stores as `data`


def _event_job_fields(connection: redis.Redis, event_id: int) -> tuple[bytes, ...]:
    """The job hash `Job.to_dict` gives for this event: the per-event fields as alternating
    name and value, then the shared ones as a JSON array (`_ENQUEUE_UNIQUE`)."""
    global _shared_fields
    encode: Callable[[object], bytes] = connection.get_encoder().encode
    if _shared_fields is None:
        template = Job.create(
            PROCESS_EVENT,
            args=(0,),
            connection=connection,
            id=event_job_id(0),
            origin=QUEUE_NAME,
            status=JobStatus.QUEUED,
            retry=_EVENT_RETRY,
            timeout=EVENT_JOB_TIMEOUT_S,
            serializer=JSONSerializer,
        )
        shared = [
            encode(item).decode()  # the text redis-py would send for it
            for name, value in template.to_dict().items()
            if value is not None and name not in _PER_EVENT_FIELDS
            for item in (name, value)
        ]
        _shared_fields = json.dumps(shared).encode()
    now = encode(utcformat(dt.datetime.now(dt.UTC)))
    call = _serialize((PROCESS_EVENT, None, (event_id,), {}))
    return (
        b"created_at",
        now,
        b"enqueued_at",
        now,
        b"data",
        zlib.compress(call),
        b"description",
        encode(f"process inbox event {event_id}"),
        _shared_fields,
    )


ALLOCATE_PRODUCT = "worker.allocate_product"
ALLOCATE_JOB_TIMEOUT_S = 300
ALLOCATE_RETRY_INTERVALS = [5, 15, 30, 60, 120]


def allocation_job_id(store_id: int, product_id: str) -> str:
    """One allocation job per store and product: duplicates collapse while one is queued."""
    return f"allocate-{store_id}-{product_id}"


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
        try:
            event_queue(connection).enqueue_call(
                ALLOCATE_PRODUCT,
                args=(store_id, str(product_id)),
                job_id=job_id,
                unique=True,
                retry=Retry(max=len(ALLOCATE_RETRY_INTERVALS), interval=ALLOCATE_RETRY_INTERVALS),
                timeout=ALLOCATE_JOB_TIMEOUT_S,
                result_ttl=0,
                failure_ttl=60,
                description=f"allocate stock of product {product_id} in store {store_id}",
            )
        except DuplicateJobError:
            if _job_status(connection, job_id) == JobStatus.STARTED:
                continue  # it may have read the old stock: queue the follow-up
            return False
        return True
    return False


def _job_status(connection: redis.Redis, job_id: str) -> JobStatus | None:
    try:
        return Job.fetch(job_id, connection=connection, serializer=JSONSerializer).get_status()
    except NoSuchJobError:
        return None


def enqueue_pending(db: Database, connection: redis.Redis, older_than_s: float = 30) -> int:
    """Enqueue inbox events still 'pending' after `older_than_s`; returns how many were queued.

    Used by the scheduler and at worker start for events that arrived while Redis was away (or
    whose web process died between the insert and the enqueue). The webhook leaves its rows
    'pending' after enqueueing, so rows still waiting in a busy queue come here too: their job
    exists, the enqueue is a no-op, and they are marked 'enqueued' so the next sweep skips them.
    """
    inbox = InboxRepository(db)
    queued = 0
    for event in inbox.pending_older_than(older_than_s):
        if enqueue_event(connection, event.id):
            queued += 1
        inbox.mark_enqueued(event.id)
    if queued:
        logger.info("event=pending_enqueued count=%d", queued)
    return queued


def requeue_vanished(db: Database, connection: redis.Redis, older_than_s: float = 30) -> int:
    """Enqueue again the inbox events marked 'enqueued' whose job no longer exists in Redis;
    returns how many were queued.

    A Redis that lost data (a crash within its fsync interval, a restart without persistence,
    a flush) leaves such events behind: nothing else would ever run them. A job that still
    exists (queued, running, waiting for a retry, failed) is left alone, and `enqueue_event`
    refuses an id that a concurrent caller has just re-created.
    """
    events = InboxRepository(db).enqueued_older_than(older_than_s)
    if not events:
        return 0
    pipeline = connection.pipeline(transaction=False)
    for event in events:
        pipeline.exists(Job.key_for(event_job_id(event.id)))
    found = pipeline.execute()
    queued = 0
    for event, exists in zip(events, found, strict=True):
        if not exists and enqueue_event(connection, event.id):
            queued += 1
    if queued:
        logger.warning("event=vanished_jobs_requeued count=%d", queued)
    return queued


CANCEL_LINE = "worker.cancel_line"
CANCEL_JOB_TIMEOUT_S = 120
CANCEL_RETRY_INTERVALS = [5, 15, 30, 60, 120]


def cancel_job_id(store_id: int, cancel_key: str, attempt: int) -> str:
    """One job per cancellation request (`attempt` counts the merchant's requests)."""
    return f"cancel-{store_id}-{cancel_key.replace(':', '-')}-{attempt}"


def enqueue_cancellation(
    connection: redis.Redis, store_id: int, cancel_key: str, attempt: int
) -> bool:
    """Enqueue `worker.cancel_line(store_id, cancel_key)`; False when that job exists.

    Raises redis.RedisError when Redis cannot be reached.
    """
    try:
        event_queue(connection).enqueue_call(
            CANCEL_LINE,
            args=(store_id, cancel_key),
            job_id=cancel_job_id(store_id, cancel_key, attempt),
            unique=True,
            retry=Retry(max=len(CANCEL_RETRY_INTERVALS), interval=CANCEL_RETRY_INTERVALS),
            timeout=CANCEL_JOB_TIMEOUT_S,
            failure_ttl=3600,
            description=f"cancel backorder line {cancel_key} in store {store_id}",
        )
    except DuplicateJobError:
        return False
    return True
