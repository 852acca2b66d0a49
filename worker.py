"""Worker composition root: the RQ job functions and `main()` (an RQ worker with its scheduler).

Jobs take plain ids and build their adapters from `Config.from_env(os.environ)`, once per
process (RQ forks a work horse per job, so "per process" is per job in the default worker; the
cache still saves the rebuild when jobs run in one process, e.g. `SimpleWorker` or tests).

Run with `python worker.py` (what `run.py` and the README's production section do). Besides
RQ's worker and scheduler, its main process runs two threads: the guardian (reaper, periodic
jobs' seeds) and the relay, which moves the events webhooks recorded onto the queue. A plain
`rq worker` has neither: webhook events would then wait for the periodic sweep (every 60 s) and jobs
of dead workers for the periodic `reap_abandoned` job.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import math
import os
import random
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from rq import Worker, get_current_job
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from plugin.adapters.mail.smtp import deliver, enqueue_mail
from plugin.adapters.queue.reaper import DEFAULT_STALE_AFTER
from plugin.adapters.queue.reaper import reap_abandoned as reap_started_registry
from plugin.adapters.queue.relay import (
    QUEUE_NAME,
    enqueue_allocation,
    enqueue_event,
    enqueue_pending,
    event_queue,
    requeue_vanished,
    run_relay,
)
from plugin.adapters.redis.connection import connect_redis
from plugin.adapters.redis.ratelimit import StoreRateLimiter
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.outbox import OutboxRepository, store_mail
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.repositories import (
    InboxRepository,
    SqlAuditLog,
    SqlInbox,
    SqlPolicyStore,
    SqlSplitLedger,
    StoreRecord,
    StoreRepository,
)
from plugin.adapters.vault import Vault
from plugin.config import Config, configure_logging
from plugin.core.model import ProductRef
from plugin.errors import PermanentError, RateLimited, TransientError
from plugin.platforms.registry import Registry
from plugin.ports import ORDER_TOPICS, PRODUCT_TOPICS, Platform
from plugin.usecases import cancelling, reconciling, releasing
from plugin.usecases import splitting as service
from plugin.usecases.notifying import Message, Notifications

log = logging.getLogger("worker")

# One job at a time per order: an order.created and an order.updated of the same order may be
# processed by two workers at once, and both would otherwise try to create the backorder order.
ORDER_LOCK_TTL = 30  # seconds; renewed while the job runs, so a dead worker frees it quickly
ORDER_LOCK_WAIT = 20  # seconds to wait for the lock before retrying the job later
RESPLIT_LOCK_WAIT = 5  # seconds an allocation job waits for an order it would split again
RECONCILE_JOB_TIMEOUT = 600
WORKER_TTL = 35
PENDING_OLDER_THAN = 30  # seconds an inbox event may stay 'pending' before it is re-enqueued
# Seconds after its enqueue that an 'enqueued' event whose job is missing from Redis is enqueued
# again (the job always exists from the moment the event is marked, so any age would do; this
# keeps each pass to events that had time to be lost rather than in flight).
VANISHED_OLDER_THAN = 5


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def reap_interval() -> float:
    """Seconds between reaper passes of each worker's guardian thread (BACKORDERS_REAP_TICK)."""
    return max(0.2, _env_seconds("BACKORDERS_REAP_TICK", 10))


def reap_stale_after() -> float:
    """Heartbeat age that marks a job abandoned (BACKORDERS_REAP_STALE)."""
    return _env_seconds("BACKORDERS_REAP_STALE", DEFAULT_STALE_AFTER)


def heartbeat_interval() -> int:
    """RQ's job_monitoring_interval for `python worker.py` (BACKORDERS_HEARTBEAT, default 10 s)."""
    return max(1, int(_env_seconds("BACKORDERS_HEARTBEAT", 10)))


def periodic_intervals() -> dict[str, int]:
    """Seconds between runs of each periodic job: the reaper (BACKORDERS_REAP_INTERVAL, 15 s),
    re-enqueuing lost events (BACKORDERS_REQUEUE_INTERVAL, 60 s) and looking for stores due a
    reconciliation (BACKORDERS_RECONCILE_TICK, 60 s; each store's own interval still applies)."""
    return {
        "reap_abandoned": max(1, int(_env_seconds("BACKORDERS_REAP_INTERVAL", 15))),
        "requeue_pending": max(1, int(_env_seconds("BACKORDERS_REQUEUE_INTERVAL", 60))),
        "reconcile_all": max(1, int(_env_seconds("BACKORDERS_RECONCILE_TICK", 60))),
    }


# --- adapters, built once per process -------------------------------------------------------


@dataclass
class Runtime:
    config: Config
    db: Database
    redis: redis.Redis
    stores: StoreRepository
    inbox_events: InboxRepository
    inbox: SqlInbox
    ledger: SqlSplitLedger
    policies: SqlPolicyStore
    audit: SqlAuditLog
    outbox: OutboxRepository
    registry: Registry
    pid: int


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The adapters of this process (rebuilt after a fork: connections are not fork-safe)."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        config = Config.from_env(os.environ)
        db = Database(config.database_url)
        connection = connect_redis(config, retries=3)
        stores = StoreRepository(db, Vault(config.secret_key))
        _runtime = Runtime(
            config=config,
            db=db,
            redis=connection,
            stores=stores,
            inbox_events=InboxRepository(db),
            inbox=SqlInbox(db),
            ledger=SqlSplitLedger(db),
            policies=SqlPolicyStore(db),
            audit=SqlAuditLog(db),
            outbox=OutboxRepository(db),
            registry=Registry(
                connection,
                stores,
                public_url=config.public_url,
                allow_private_addresses=config.development,
            ),
            pid=os.getpid(),
        )
    return _runtime


def connect_store(rt: Runtime, store: StoreRecord) -> tuple[Platform, StoreRateLimiter]:
    """The store's Platform, its requests throttled by the shared per-store rate limiter."""
    return rt.registry.for_store(store)


class OpenAlerts:
    """`plugin.ports.Alerts` that does not repeat an alert the merchant has not dealt with yet
    (an order re-planned on each edit would otherwise raise the same alert every time)."""

    def __init__(self, stores: StoreRepository) -> None:
        self.stores = stores

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> int | None:
        for alert in self.stores.list_alerts(store_id):
            if (alert.kind, alert.order_id, alert.message) == (kind, order_id, message):
                return None
        return self.stores.add_alert(store_id, kind, message, order_id=order_id)


class StoreCheckpoints:
    """`service.Checkpoints` on the stores table."""

    def __init__(self, stores: StoreRepository) -> None:
        self.stores = stores

    def get_checkpoint(self, store_id: int) -> dt.datetime | None:
        store = self.stores.get(store_id)
        return store.reconcile_checkpoint if store is not None else None

    def set_checkpoint(self, store_id: int, at: dt.datetime) -> None:
        self.stores.update(store_id, reconcile_checkpoint=at)


# --- retries --------------------------------------------------------------------------------


def retry_delay(base: float, retry_after: float | None, rng: random.Random) -> int:
    """Seconds before the next attempt: the job's exponential interval with ±25 % jitter (so
    jobs failing together do not retry together), never sooner than the store's Retry-After."""
    delay = base * rng.uniform(0.75, 1.25)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return max(1, math.ceil(delay))


def paced_delay(retry_after: float, rng: random.Random) -> int:
    """Seconds before retrying a 429: the store's Retry-After plus up to 25 % jitter."""
    return max(1, math.ceil(retry_after * rng.uniform(1.0, 1.25)))


# A 429 with Retry-After is the store setting the pace, not a failure of the job: such retries
# follow that pace and do not use up the job's own retries, up to this many per job.
RATE_LIMITED_RETRIES = 50


def _prepare_retry(exc: Exception, event_id: int | None, rt: Runtime) -> None:
    """Set the delay of the retry RQ is about to schedule, or record the final failure."""
    job = get_current_job()
    if job is None:
        return
    reason = exc.reason if isinstance(exc, TransientError) else "internal_error"
    retry_after = exc.retry_after if isinstance(exc, TransientError) else None
    rng = random.Random()  # noqa: S311 - jitter
    paced = isinstance(exc, RateLimited) and retry_after is not None
    if paced and job.meta.get("rate_limited_retries", 0) < RATE_LIMITED_RETRIES:
        job.meta["rate_limited_retries"] = job.meta.get("rate_limited_retries", 0) + 1
        job.save_meta()
        job.retries_left = (job.retries_left or 0) + 1  # RQ takes this one back in Job.retry
    else:
        paced = False
    if not job.retries_left:
        if event_id is not None:
            rt.inbox_events.mark_failed(event_id, f"gave up after retries: {reason}: {exc}")
        log.error("job=%s gave up after retries reason=%s", job.id, reason)
        return
    intervals = list(job.retry_intervals or [0])
    index = max(len(intervals) - job.retries_left, 0)
    while len(intervals) <= index:
        intervals.append(intervals[-1])
    # RQ reads this in the same process right after the job raises (Job.retry).
    if paced and retry_after is not None:
        intervals[index] = paced_delay(retry_after, rng)
    else:
        intervals[index] = retry_delay(intervals[index], retry_after, rng)
    job.retry_intervals = intervals
    log.info(
        "job=%s transient reason=%s retry_in=%ss retries_left=%s",
        job.id,
        reason,
        intervals[index],
        job.retries_left,
    )


@contextlib.contextmanager
def order_lock(
    connection: redis.Redis, store_id: int, order_id: str, wait: float = ORDER_LOCK_WAIT
) -> Iterator[None]:
    """Hold the per-order lock, renewing it while the block runs; TransientError (reason
    "busy") when another job holds it for more than `wait` seconds."""
    with _store_locks(connection, store_id, [order_id], wait):
        yield


@contextlib.contextmanager
def _store_locks(
    connection: redis.Redis, store_id: int, names: Sequence[str], wait: float
) -> Iterator[None]:
    """Hold the locks `names` of a store (order ids, `product:<id>`), taken in that order and
    renewed by one thread while the block runs; TransientError (reason "busy") when another
    job holds one for more than `wait` seconds (the ones taken are let go)."""
    held: list[Any] = []
    stop = threading.Event()
    renewer: threading.Thread | None = None

    def renew() -> None:
        while not stop.wait(ORDER_LOCK_TTL / 3):
            for lock in held:
                with contextlib.suppress(redis.RedisError):
                    lock.extend(ORDER_LOCK_TTL, replace_ttl=True)

    try:
        for name in names:
            lock = connection.lock(
                f"backorders:lock:order:{store_id}:{name}",
                timeout=ORDER_LOCK_TTL,
                blocking_timeout=wait,
                thread_local=False,
            )
            if not lock.acquire():
                raise TransientError(
                    f"order {name} is being processed by another job", reason="busy"
                )
            held.append(lock)
        renewer = threading.Thread(target=renew, name="order-lock", daemon=True)
        renewer.start()
        yield
    finally:
        stop.set()
        if renewer is not None:
            renewer.join()
        for lock in reversed(held):
            with contextlib.suppress(redis.RedisError):
                lock.release()


# --- jobs -----------------------------------------------------------------------------------


def process_event(event_id: int) -> str:
    """Handle one inbox event; returns what became of it."""
    rt = runtime()
    event = rt.inbox_events.get(event_id)
    if event is None:
        log.warning("event=%s missing from the inbox", event_id)
        return "missing"
    if event.status in ("done", "ignored", "failed"):
        return event.status  # a duplicate job; the event was settled already
    rt.inbox_events.mark_started(event_id)
    store = rt.stores.get(event.store_id)
    if store is None or not store.is_connected:
        rt.inbox_events.mark_ignored(event_id, "store not connected")
        return "ignored"
    if event.topic in PRODUCT_TOPICS:
        enqueue_allocation(rt.redis, store.id, event.resource_id)
        rt.inbox_events.mark_done(event_id)
        return "allocation"
    if event.topic not in ORDER_TOPICS:
        rt.inbox_events.mark_ignored(event_id, f"topic {event.topic} is not handled")
        return "ignored"
    limiter: StoreRateLimiter | None = None
    try:
        platform, limiter = connect_store(rt, store)
        with order_lock(rt.redis, store.id, event.resource_id):
            result = service.handle_order_event(
                store.id,
                event.resource_id,
                platform=platform,
                ledger=rt.ledger,
                releases=SqlReleaseLedger(rt.db),
                policies=rt.policies,
                audit=rt.audit,
                alerts=OpenAlerts(rt.stores),
                notifier=notifications(rt),
                # The split reads the free units under the allocation locks of the order's
                # products, so no release changes them meanwhile (service._free_stock).
                stock_lock=lambda refs: product_locks(rt.redis, store.id, refs),
            )
    except PermanentError as exc:
        # Deliberately swallowed: the service recorded it for the merchant; a retry would
        # fail the same way.
        rt.inbox_events.mark_failed(event_id, f"{exc.reason}: {exc}")
        log.warning("event=%s failed permanently reason=%s (not retried)", event_id, exc.reason)
        return "failed"
    except TransientError as exc:
        if isinstance(exc, RateLimited) and exc.retry_after and limiter is not None:
            limiter.pause(exc.retry_after)  # every worker holds off this store
        _prepare_retry(exc, event_id, rt)
        raise
    except Exception as exc:
        # A fault of ours (or an unexpected answer): RQ retries it like a transient error, and
        # the event is marked failed when the retries are used up. Not swallowed.
        log.exception("event=%s failed unexpectedly", event_id)
        _prepare_retry(exc, event_id, rt)
        raise
    if result.status == "ignored":
        rt.inbox_events.mark_ignored(event_id, result.detail or "own write")
    else:
        rt.inbox_events.mark_done(event_id)
    log.info(
        "event=%s store=%s order=%s result=%s", event_id, store.id, event.resource_id, result.status
    )
    return result.status


@contextlib.contextmanager
def product_lock(connection: redis.Redis, store_id: int, product_id: str) -> Iterator[None]:
    """Hold the per-store+product allocation lock (read, plan and write under one lock)."""
    with order_lock(connection, store_id, f"product:{product_id}"):
        yield


def allocation_lock_ids(refs: Iterable[ProductRef]) -> list[str]:
    """Every id an allocation job of these products or variations locks on: a job locks its
    product, the parent for a variation the ledger knows (`allocation_lock`), else the id it
    was given, so a variation is covered by both. Sorted, so jobs taking several take them
    in one order."""
    return sorted({i for ref in refs for i in (ref.product_id, ref.variant_id) if i})


@contextlib.contextmanager
def allocation_lock(
    connection: redis.Redis, ledger: SqlReleaseLedger, store_id: int, product_id: str
) -> Iterator[None]:
    """The lock of an allocation job for product `product_id` (`allocate_product` runs a
    variation's job for its parent). Variations whose parent keeps the stock draw on one
    figure, so jobs for any of them and for the parent must be one job under one lock; a
    variation whose first backorder was recorded meanwhile (under its parent's lock) makes the
    job run again for its parent."""
    with product_lock(connection, store_id, product_id):
        if ledger.parent_product(store_id, product_id) != product_id:
            raise TransientError(
                f"product {product_id} turned out to be a variation; retried for its parent",
                reason="busy",
            )
        yield


@contextlib.contextmanager
def product_locks(
    connection: redis.Redis, store_id: int, refs: Iterable[ProductRef]
) -> Iterator[None]:
    """Hold the allocation locks of every product (and variation) in `refs`."""
    names = [f"product:{i}" for i in allocation_lock_ids(refs)]
    with _store_locks(connection, store_id, names, ORDER_LOCK_WAIT):
        yield


def allocate_product(
    store_id: int,
    product_id: str,
    on_released: releasing.OnReleased | None = None,
    on_stock_arrived: releasing.OnStockArrived | None = None,
) -> list[str]:
    """Release the open backorders of one product that its stock now covers (issue 6)."""
    rt = runtime()
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        return []
    platform, limiter = connect_store(rt, store)
    ledger = SqlReleaseLedger(rt.db)
    # Per product: a variation's job allocates its parent, whose job sees every variation's
    # open backorders and counts each stock figure once (README "Stock accounting").
    product_id = ledger.parent_product(store_id, str(product_id))
    try:
        result = releasing.allocate_product(
            store_id,
            product_id,
            platform=platform,
            releases=ledger,
            splits=rt.ledger,
            priority_bumps=ledger.bumps(store_id),
            policies=rt.policies,
            audit=rt.audit,
            lock=lambda: allocation_lock(rt.redis, ledger, store_id, product_id),
            # A partial release splits the order again under its own lock
            # (plugin/usecases/resplitting.py). Held elsewhere (a job for another of its products
            # splitting it, an event about it): after a short wait the order waits for this run,
            # instead of this job holding its product's lock for the full ORDER_LOCK_WAIT and then
            # failing.
            order_lock=lambda order_id: order_lock(
                rt.redis, store_id, order_id, wait=RESPLIT_LOCK_WAIT
            ),
            on_released=on_released if on_released is not None else notify_released,
            on_stock_arrived=(
                on_stock_arrived if on_stock_arrived is not None else notify_stock_arrived
            ),
        )
    except PermanentError as exc:
        rt.stores.add_alert(store_id, exc.reason, f"Releasing product {product_id} failed: {exc}")
        log.warning(
            "allocate store=%s product=%s failed reason=%s", store_id, product_id, exc.reason
        )
        return []
    except RateLimited as exc:
        if exc.retry_after:
            limiter.pause(exc.retry_after)
        raise
    return list(result.released)


def _backorder_refs(rt: Runtime, store_id: int, backorder_order_id: str) -> list[ProductRef]:
    """The products and variations the backorder order's split moved to it."""
    refs: list[ProductRef] = []
    for split in rt.ledger.for_order(store_id, backorder_order_id):
        if split.backorder_order_id != backorder_order_id:
            continue
        for line in split.plan.get("lines", []) or []:  # type: ignore[attr-defined]
            ref = line.get("ref") or {}
            if ref.get("product_id"):
                variant = ref.get("variant_id")
                refs.append(ProductRef(str(ref["product_id"]), str(variant) if variant else None))
    return refs


@contextlib.contextmanager
def cancel_locks(rt: Runtime, store_id: int, backorder_order_id: str) -> Iterator[None]:
    """The allocation lock of each of the backorder order's products, then its order lock (the
    order allocation takes them in, so a re-split under the order lock cannot wait on us while
    we wait on it): no allocation hands stock to a line while it is being cancelled."""
    with (
        product_locks(rt.redis, store_id, _backorder_refs(rt, store_id, backorder_order_id)),
        order_lock(rt.redis, store_id, backorder_order_id),
    ):
        yield


def cancel_line(store_id: int, cancel_key: str) -> str:
    """Carry out a merchant's cancellation of one backorder line (issue 5); returns its state."""
    rt = runtime()
    ledger = SqlCancellationLedger(rt.db)
    record = ledger.get(store_id, cancel_key)
    if record is None:
        return "missing"
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        if record.is_open:
            ledger.fail(store_id, cancel_key, "the store is not connected")
        return "failed"
    platform, limiter = connect_store(rt, store)
    try:
        result = cancelling.cancel_line(
            store_id,
            cancel_key,
            platform=platform,
            cancellations=ledger,
            releases=SqlReleaseLedger(rt.db),
            audit=rt.audit,
            lock=lambda: cancel_locks(rt, store_id, record.backorder_order_id),
        )
    except PermanentError as exc:
        ledger.fail(store_id, cancel_key, f"{exc.reason}: {exc}")
        rt.audit.record(
            store_id, record.backorder_order_id, "error",
            f"Cancelling a backorder line failed: {exc}", cancel_key=cancel_key,
        )  # fmt: skip
        log.warning("cancel store=%s key=%s failed reason=%s", store_id, cancel_key, exc.reason)
        return "failed"
    except Exception as exc:
        if isinstance(exc, RateLimited) and exc.retry_after:
            limiter.pause(exc.retry_after)
        _prepare_retry(exc, None, rt)
        job = get_current_job()
        if job is not None and not job.retries_left:
            ledger.fail(store_id, cancel_key, f"gave up after retries: {exc}")
        raise
    if result is None:
        return "missing"
    return "failed" if result.error else result.state


# --- e-mail ----------------------------------------------------------------------------------

DEFAULT_MAIL_FROM = "Backorders <backorders@localhost>"


def notifications(rt: Runtime) -> Notifications:
    """The notifier of this process: messages go to the outbox and onto the mail queue."""

    def post(message: Message) -> int:
        message_id, _new = rt.outbox.add(message)
        try:
            # Also for a known key: a crash between the insert and the enqueue left it queued
            # without a job. The job id is fixed per message, so this never makes two.
            enqueue_mail(rt.redis, message_id)
        except redis.RedisError as exc:
            log.warning("mail id=%s not queued: %s", message_id, type(exc).__name__)
        return message_id

    def alert(store_id: int, kind: str, text: str) -> None:
        # One open alert per broken wording, not one per message.
        if not any(open_alert.kind == kind for open_alert in rt.stores.list_alerts(store_id)):
            rt.stores.add_alert(store_id, kind, text)

    return Notifications(lambda store_id: store_mail(rt.db, store_id), post, alert)


def send_mail(message_id: int) -> str:
    """Send one outbox message by SMTP (or capture it in development); retried when the
    SMTP server fails for now."""
    rt = runtime()
    try:
        return deliver(
            rt.outbox,
            message_id,
            smtp_url=rt.config.smtp_url,
            development=rt.config.development,
            sender=os.environ.get("MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM,
        )
    except TransientError as exc:
        _prepare_retry(exc, None, rt)
        raise


def notify_released(store_id: int, order_id: str, payment_url: str | None) -> None:
    """Hook for the release flow (`on_released`): e-mail the customer of backorder order
    `order_id` that it ships, with `payment_url` when payment is due."""
    rt = runtime()
    store = rt.stores.get(store_id)
    if store is None:
        return
    platform, _limiter = connect_store(rt, store)
    order = platform.get_order(order_id)
    notifications(rt).backorder_released(store_id, order, payment_url)


def notify_stock_arrived(store_id: int, product_ref: ProductRef | str, units: int) -> None:
    """Hook for the release flow (`on_stock_arrived`): alert the merchant that `units` of a
    product with open backorders arrived. `product_ref` is a ProductRef or 'product[:variation]'."""
    if isinstance(product_ref, str):
        product_id, _, variant_id = product_ref.partition(":")
        product_ref = ProductRef(product_id, variant_id or None)
    job = get_current_job()
    # One alert per arrival: the job (or the moment) that saw it tells arrivals apart.
    event = job.id if job is not None else dt.datetime.now(dt.UTC).isoformat()
    notifications(runtime()).stock_arrived(store_id, product_ref, units, event=event)


def reconcile_store(store_id: int) -> int:
    """Poll one store for orders the webhooks missed; returns how many events were added."""
    rt = runtime()
    store = rt.stores.get(store_id)
    if store is None or not store.is_connected:
        return 0
    platform, limiter = connect_store(rt, store)

    def enqueue(event_id: int) -> None:
        enqueue_event(rt.redis, event_id)
        rt.inbox_events.mark_enqueued(event_id)

    try:
        result = reconciling.reconcile_store(
            store_id,
            platform=platform,
            webhooks=platform,
            inbox=rt.inbox,
            checkpoints=StoreCheckpoints(rt.stores),
            enqueue=enqueue,
            now=dt.datetime.now(dt.UTC),
            alerts=OpenAlerts(rt.stores),
        )
    except PermanentError as exc:
        rt.stores.add_alert(store_id, exc.reason, f"Reconciliation failed: {exc}")
        log.warning("reconcile store=%s failed permanently reason=%s", store_id, exc.reason)
        return 0
    except TransientError as exc:
        # Not a failure of the job: the checkpoint did not move, so the next `reconcile_all`
        # tick runs it again (a failed job would also keep its unique id, blocking the store's
        # reconciliation until the failure expired).
        if isinstance(exc, RateLimited) and exc.retry_after:
            limiter.pause(exc.retry_after)
        log.warning(
            "reconcile store=%s transient reason=%s; the next pass retries", store_id, exc.reason
        )
        return 0
    # A product.updated webhook may have been missed too: look again at every product that
    # open backorders wait for (each job is cheap when nothing arrived).
    for product_id in SqlReleaseLedger(rt.db).waiting_products(store_id):
        enqueue_allocation(rt.redis, store_id, product_id)
    return result.added


def reconcile_all() -> int:
    """Enqueue `reconcile_store` for each connected store whose interval has passed."""
    rt = runtime()
    schedule_periodic(rt.redis, "reconcile_all")
    now = dt.datetime.now(dt.UTC)
    queue = event_queue(rt.redis)
    queued = 0
    for store in rt.stores.list(status="connected"):
        last = store.reconcile_checkpoint
        if last is not None and (now - last).total_seconds() < store.reconcile_interval_seconds:
            continue
        try:
            queue.enqueue_call(
                "worker.reconcile_store",
                args=(store.id,),
                job_id=f"reconcile-{store.id}",
                unique=True,  # one reconciliation per store at a time
                result_ttl=0,
                failure_ttl=300,
                timeout=RECONCILE_JOB_TIMEOUT,
                description=f"reconcile store {store.id}",
            )
        except DuplicateJobError:
            continue
        queued += 1
    return queued


def requeue_pending() -> int:
    """Enqueue inbox events left 'pending' (Redis was away when they arrived) and events whose
    job Redis lost (it crashed or restarted); returns how many were queued."""
    rt = runtime()
    schedule_periodic(rt.redis, "requeue_pending")
    pending = enqueue_pending(rt.db, rt.redis, older_than_s=PENDING_OLDER_THAN)
    return pending + requeue_vanished(rt.db, rt.redis, older_than_s=VANISHED_OLDER_THAN)


def reap_abandoned() -> list[str]:
    """Requeue jobs whose worker died mid-job (see plugin/adapters/queue/reaper.py)."""
    rt = runtime()
    schedule_periodic(rt.redis, "reap_abandoned")
    return reap_started_registry(rt.redis, [QUEUE_NAME], stale_after=reap_stale_after())


# --- periodic jobs on RQ's scheduler ---------------------------------------------------------


def schedule_periodic(connection: redis.Redis, name: str) -> bool:
    """Schedule the next run of periodic job `name` with RQ's scheduler, once.

    Runs fall on multiples of the interval and the job id names that instant, so every
    process computing "the next run" computes the same job; `unique=True` keeps one of them.
    Each run schedules its successor first, and every worker start seeds the chain.
    """
    interval = periodic_intervals()[name]
    due = (math.floor(time.time() / interval) + 1) * interval
    try:
        event_queue(connection).enqueue_at(
            dt.datetime.fromtimestamp(due, dt.UTC),
            f"worker.{name}",
            job_id=f"periodic-{name}-{due}",
            unique=True,
            result_ttl=0,
            failure_ttl=3600,
            job_timeout=300,
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
                reap_started_registry(connection, [QUEUE_NAME], stale_after=reap_stale_after())
                ensure_schedules(connection)
            except redis.RedisError as exc:  # Redis away for a moment: try again next tick
                log.warning("guardian pass failed: %s", exc)

    thread = threading.Thread(target=guard, name="reaper", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    """Run an RQ worker with the scheduler on the `backorders` queue."""
    parser = argparse.ArgumentParser(description="Backorders worker")
    parser.add_argument("--name", help="worker name (unique per process)")
    parser.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    parser.add_argument(
        "--schedule-only", action="store_true", help="seed the periodic jobs and exit"
    )
    args = parser.parse_args(argv)
    config = Config.from_env(os.environ)
    configure_logging(config.log_level)
    connection = connect_redis(config, retries=5)
    socket_path = connection.connection_pool.connection_kwargs.get("path")
    if not config.redis_url and socket_path:
        # The embedded server this process started: work horses and the scheduler process
        # must use it rather than start servers of their own.
        os.environ["REDIS_URL"] = f"unix://{socket_path}"
    ensure_schedules(connection)
    if args.schedule_only:
        return 0
    db = Database(config.database_url)
    db.migrate()
    enqueue_pending(db, connection, older_than_s=0)
    requeue_vanished(db, connection, older_than_s=0)
    db.dispose()  # work horses are forked: no pooled connection may cross the fork
    worker = Worker(
        [event_queue(connection)],
        connection=connection,
        serializer=JSONSerializer,
        name=args.name,
        # Heartbeats every few seconds let the reaper tell a dead worker from a slow job;
        # frequent maintenance lets a surviving worker take the scheduler over quickly.
        job_monitoring_interval=heartbeat_interval(),
        # An idle worker blocks in BLMOVE for worker_ttl - 15 s and only then runs its
        # maintenance (registry cleanup, taking the scheduler over from a dead worker); RQ's
        # default 420 s would leave scheduled jobs and retries stuck for minutes.
        worker_ttl=WORKER_TTL,
        maintenance_interval=int(_env_seconds("BACKORDERS_MAINTENANCE_INTERVAL", 30)),
    )
    stop = threading.Event()
    start_guardian(connect_redis(config, retries=5), stop)
    # Webhooks only record their events; this thread queues them (plugin/adapters/queue/relay.py).
    # Its own engine and client: work horses fork from this process and never touch either.
    threading.Thread(
        target=run_relay,
        args=(Database(config.database_url), connect_redis(config, retries=5), stop),
        name="relay",
        daemon=True,
    ).start()
    try:
        worker.work(with_scheduler=True, burst=args.burst, logging_level=config.log_level)
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    # Jobs name their functions `worker.<name>`. Without this alias each work horse would
    # import worker.py again from disk: a second copy of this module per job, and one that
    # may no longer match the code this process loaded (a deploy under running workers).
    sys.modules.setdefault("worker", sys.modules[__name__])
    sys.exit(main())
