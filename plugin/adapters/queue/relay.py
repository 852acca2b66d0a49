"""Putting inbox events on the RQ queue: the relay thread of the workers moves the events the
webhooks recorded onto it, many per round trip (`PROCESS_EVENT` jobs, plugin/adapters/queue/
jobs.py); job ids are deterministic so a second enqueue of one event is a no-op."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Sequence

import redis
from sqlalchemy.exc import SQLAlchemyError

from plugin.adapters.queue.jobs import PROCESS_EVENT, event_job_id
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository

logger = logging.getLogger(__name__)


def enqueue_event(connection: redis.Redis, event_id: int) -> bool:
    """Enqueue `worker.process_event(event_id)`; False when that job exists already.

    One Redis round trip, atomic, so concurrent callers create one job. Raises
    redis.RedisError when Redis cannot be reached (the event then stays 'pending').
    """
    return enqueue_events(connection, [event_id])[0]


def enqueue_events(connection: redis.Redis, event_ids: Sequence[int]) -> list[bool]:
    """`enqueue_event` for many events in one round trip: whether each one's job was created."""
    return PROCESS_EVENT.enqueue_many(connection, [_event_run(event_id) for event_id in event_ids])


def _event_run(event_id: int) -> tuple[str, tuple[int], str]:
    return event_job_id(event_id), (event_id,), f"process inbox event {event_id}"


def enqueue_pending(
    db: Database, connection: redis.Redis, older_than_s: float = 30, *, limit: int = 500
) -> int:
    """Enqueue inbox events 'pending' for at least `older_than_s` (the oldest `limit`), in one
    Redis round trip, and mark them 'enqueued'; returns how many jobs were created.

    The relay (`run_relay`, in every worker) calls this with 0 every `RELAY_IDLE_INTERVAL_S` to
    `RELAY_INTERVAL_S`: it is how a webhook's event reaches the queue. A row whose job exists
    already (a concurrent relay, the sweep) is only marked.
    """
    inbox = InboxRepository(db)
    ids = inbox.pending_ids(older_than_s=older_than_s, limit=limit)
    if not ids:
        return 0
    queued = sum(enqueue_events(connection, ids))
    inbox.mark_enqueued_many(ids)
    if queued:
        logger.info("event=pending_enqueued count=%d", queued)
    return queued


# After a pass that queued events the relay waits the longer interval, so that under a stream of
# webhooks each pass queues many in one round trip (issue 7, webhook ingest); after an empty pass
# the shorter one, so that a webhook arriving at a quiet moment waits about 10 ms rather than 25
# on average before its job is queued (split_latency, issue 17). The price: an idle worker that
# relays used 25 ms of CPU a second against 8 with 50 ms (2026-12-04; an empty pass is about
# 60 us on its own, several times that in the worker beside its other threads). A wake-up sent
# by the webhook would avoid it, at a Redis call on the webhook's path.
RELAY_INTERVAL_S = 0.05
RELAY_IDLE_INTERVAL_S = 0.02
RELAY_LOCK = "backorders:relay"
RELAY_LOCK_TTL_S = 5.0

# RQ forks a work horse for every job from the worker's main process, where the relay thread
# works with SQLite. A fork while that thread is inside SQLite, which holds process-wide mutexes
# while it opens files and takes locks, leaves the horse holding a mutex no thread will release:
# its first database call hangs for good (seen: 19 of 100 forks, tests/integration/ingest). So
# a fork waits until the relay's pass is over, and the pass until a fork is done.
_FORK_GUARD = threading.Lock()
_fork_guard_installed = False


def _guard_forks() -> None:
    global _fork_guard_installed
    if not _fork_guard_installed:
        os.register_at_fork(
            before=_FORK_GUARD.acquire,
            after_in_parent=_FORK_GUARD.release,
            after_in_child=_FORK_GUARD.release,
        )
        _fork_guard_installed = True


def run_relay(
    db: Database,
    connection: redis.Redis,
    stop: threading.Event,
    interval: float = RELAY_INTERVAL_S,
    idle_interval: float = RELAY_IDLE_INTERVAL_S,
) -> None:
    """Move webhook events from the inbox to the queue until `stop` is set (a worker thread).

    The webhook only records its event (one SQL transaction, then 202): a Redis call on the
    request cost it about as much as everything else it does (issue 7, webhook ingest). Every
    `interval` the relay enqueues the pending rows, many per round trip. Of all workers, the
    one holding a Redis lock relays; another takes over within `RELAY_LOCK_TTL_S` of its death.
    Redis or database trouble is logged and tried again at the next tick. After a pass that
    queued nothing it looks again after `idle_interval` instead.
    """
    _guard_forks()
    lock = connection.lock(RELAY_LOCK, timeout=RELAY_LOCK_TTL_S, blocking=False)
    held_since: float | None = None  # when this relay last acquired or renewed the lock
    while not stop.is_set():
        queued = 0
        try:
            now = time.monotonic()
            if held_since is None:
                held_since = now if lock.acquire() else None
            elif now - held_since > RELAY_LOCK_TTL_S / 5:
                lock.reacquire()  # LockNotOwnedError once another relay took over
                held_since = now
            if held_since is not None:
                with _FORK_GUARD:
                    queued = enqueue_pending(db, connection, older_than_s=0)
        except (redis.RedisError, SQLAlchemyError) as error:
            held_since = None
            logger.warning("event=relay_pass_failed error=%s", type(error).__name__)
        stop.wait(interval if queued or held_since is None else idle_interval)
    if held_since is not None:
        with contextlib.suppress(redis.RedisError):
            lock.release()


def requeue_vanished(db: Database, connection: redis.Redis, older_than_s: float = 30) -> int:
    """Enqueue again the inbox events marked 'enqueued' whose job no longer exists in Redis
    (`JobKind.enqueue_missing`); returns how many were queued."""
    events = InboxRepository(db).enqueued_older_than(older_than_s)
    queued = PROCESS_EVENT.enqueue_missing(connection, [_event_run(event.id) for event in events])
    if queued:
        logger.warning("event=vanished_jobs_requeued count=%d", queued)
    return queued
