"""Worker composition root: the RQ job functions and `main()` (an RQ worker with its scheduler).

Jobs take plain ids and use the adapters of their process (`runtime()`), built once from
`Config.from_env(os.environ)`. `main()` builds them, with everything else a job needs (every job
module, SQLAlchemy's mappers, the e-mail templates), before the first job, and runs the jobs in
its own process (`InProcessWorker`, plugin/adapters/queue/inprocess.py: no work horse forked per
job, heartbeats kept), so statement caches and compiled templates carry over from job to job.
A process forked from one that built them (RQ's scheduler process, a forking worker's work
horse) keeps them and opens connections of its own (`Runtime.reconnect`): connections are never
shared across a fork.

Run with `python worker.py` (what `run.py` and the README's production section do). Besides
RQ's worker and scheduler, its main process runs two threads: the guardian (reaper, periodic
jobs' seeds) and the relay, which moves the events webhooks recorded onto the queue. A plain
`rq worker` has neither: webhook events would then wait for the periodic sweep (every 60 s) and
jobs of dead workers for the periodic `reap_abandoned` job.

The jobs (names, ids, retries, timeouts) are registered in plugin/adapters/queue/jobs.py, the
retry policy is plugin/adapters/queue/retry.py, the periodic jobs and the guardian
plugin/adapters/queue/scheduler.py, the order and product locks plugin/adapters/redis/locks.py.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import logging
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import redis
from rq import get_current_job
from rq.serializers import JSONSerializer
from sqlalchemy.orm import configure_mappers

# Jobs of issue 15 (customers' requests, delay notices), imported once in the main process so a
# forked work horse does not import them again per job; they import `worker` only lazily.
from jobs import delay_notices as _delay_jobs  # noqa: F401
from jobs import self_service as _self_service_jobs
from plugin import bootstrap
from plugin.adapters.mail import wording
from plugin.adapters.mail.smtp import deliver
from plugin.adapters.queue.inprocess import InProcessWorker
from plugin.adapters.queue.jobs import (
    JOBS,
    QUEUE_NAME,
    enqueue_allocation,
    enqueue_mail,
    enqueue_reconciliation,
    event_queue,
)
from plugin.adapters.queue.mail_sweep import requeue_unsent_mail
from plugin.adapters.queue.reaper import reap_abandoned as reap_started_registry
from plugin.adapters.queue.relay import enqueue_event, enqueue_pending, requeue_vanished, run_relay
from plugin.adapters.queue.retry import prepare_retry
from plugin.adapters.queue.scheduler import ensure_schedules, schedule_periodic, start_guardian
from plugin.adapters.redis.connection import connect_redis
from plugin.adapters.redis.locks import (
    RESPLIT_LOCK_WAIT,
    allocation_lock,
    order_lock,
    product_locks,
)
from plugin.adapters.redis.ratelimit import StoreRateLimiter
from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.outbox import FAILED, OutboxRepository, store_mail
from plugin.adapters.sql.policies import SqlPolicyStore
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.reports import order_labels
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import OpenAlerts, StoreRecord, StoreRepository
from plugin.config import Config, configure_logging
from plugin.core.model import ProductRef
from plugin.errors import PermanentError, RateLimited, TransientError
from plugin.platforms.registry import Registry
from plugin.ports import ORDER_TOPICS, PRODUCT_TOPICS, Message, Platform
from plugin.usecases import authorisations, cancelling, reconciling, releasing
from plugin.usecases import splitting as service
from plugin.usecases.notifying import KINDS, Notifications

log = logging.getLogger("worker")

WORKER_TTL = 35
# Seconds an inbox event may stay 'pending', or an outbox message 'queued' without a mail job,
# before it is enqueued (again): both are what a Redis away at the moment of an enqueue leaves.
PENDING_OLDER_THAN = 30
# Seconds after its enqueue that an 'enqueued' event whose job is missing from Redis is enqueued
# again (the job always exists from the moment the event is marked, so any age would do; this
# keeps each pass to events that had time to be lost rather than in flight).
VANISHED_OLDER_THAN = 5


# --- adapters, built once per process -------------------------------------------------------


@dataclass
class Runtime:
    config: Config
    db: Database
    redis: redis.Redis
    stores: StoreRepository
    inbox_events: InboxRepository
    inbox: InboxRepository
    ledger: SqlSplitLedger
    policies: SqlPolicyStore
    audit: SqlAuditLog
    outbox: OutboxRepository
    registry: Registry
    pid: int

    def reconnect(self) -> None:
        """In a forked child: keep every adapter, but let go of the parent's pooled connections
        (the child opens its own; the parent's stay open for the parent)."""
        self.db.engine.dispose(close=False)
        self.redis.connection_pool.reset()
        self.pid = os.getpid()


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """The adapters of this process, built on first use (`prepare` builds them before any job)."""
    global _runtime
    if _runtime is None:
        _runtime = _build_runtime()
    elif _runtime.pid != os.getpid():
        _runtime.reconnect()  # a forked child that skipped the fork hook below
    return _runtime


def _build_runtime() -> Runtime:
    config = Config.from_env(os.environ)
    db = bootstrap.open_database(config)
    connection = connect_redis(config, retries=3)
    stores = bootstrap.store_repository(config, db)
    return Runtime(
        config=config,
        db=db,
        redis=connection,
        stores=stores,
        inbox_events=InboxRepository(db),
        inbox=InboxRepository(db),
        ledger=SqlSplitLedger(db),
        policies=SqlPolicyStore(db),
        audit=SqlAuditLog(db),
        outbox=OutboxRepository(db),
        registry=bootstrap.platform_registry(config, connection, stores),
        pid=os.getpid(),
    )


def _after_fork_in_child() -> None:
    # Connections are not fork-safe: a forked child (a work horse of a forking worker, RQ's
    # scheduler process) must never use the pooled database or Redis connections it inherited.
    if _runtime is not None:
        _runtime.reconnect()


os.register_at_fork(after_in_child=_after_fork_in_child)


def prepare() -> Runtime:
    """Build, once and before the first job, what the jobs need: the adapters (engine, Redis
    client, stores' vault, platforms registry), every job's module, SQLAlchemy's mappers and the
    default e-mail templates. Nothing here opens a connection."""
    for kind in JOBS:
        importlib.import_module(kind.name.rpartition(".")[0])
    configure_mappers()
    wording.compile_all(wording.read(wording.STORE_MESSAGES, kind) for kind in KINDS)
    return runtime()


def connect_store(rt: Runtime, store: StoreRecord) -> tuple[Platform, StoreRateLimiter]:
    """The store's Platform, its requests throttled by the shared per-store rate limiter."""
    return rt.registry.for_store(store)


class StoreCheckpoints:
    """`service.Checkpoints` on the stores table."""

    def __init__(self, stores: StoreRepository) -> None:
        self.stores = stores

    def get_checkpoint(self, store_id: int) -> dt.datetime | None:
        store = self.stores.get(store_id)
        return store.reconcile_checkpoint if store is not None else None

    def set_checkpoint(self, store_id: int, at: dt.datetime) -> None:
        self.stores.update(store_id, reconcile_checkpoint=at)


def _prepare_retry(exc: Exception, event_id: int | None, rt: Runtime) -> None:
    """Set the delay of the retry RQ is about to schedule (plugin/adapters/queue/retry.py);
    an event whose job gave up is marked failed."""
    gave_up = prepare_retry(exc)
    if gave_up is not None and event_id is not None:
        rt.inbox_events.mark_failed(event_id, gave_up)


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
                # Read with the order: the products its delivery named (inbox `products`).
                named_products=event.products,
                # A ledger record and its audit entries: one transaction (plugin/steps.py).
                together=rt.db.together,
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


def order_label(rt: Runtime, store_id: int, order_id: str) -> str:
    """The order as the pages name it (`112-001`, `#112`), for what a job writes about it."""
    return order_labels(rt.db, store_id, [order_id])[order_id]


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
            label=order_label(rt, store_id, record.backorder_order_id),
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


def notifications(rt: Runtime) -> Notifications:
    """The notifier of this process: messages go to the outbox and onto the mail queue."""

    def post(message: Message) -> int:
        message_id, _new = rt.outbox.add(message)
        try:
            # Also for a known key: a crash between the insert and the enqueue left it queued
            # without a job. The job id is fixed per message, so this never makes two.
            enqueue_mail(rt.redis, message_id)
        except redis.RedisError as exc:
            # It stays queued: `requeue_pending` enqueues it once Redis is back.
            log.warning("mail id=%s not queued: %s", message_id, type(exc).__name__)
        return message_id

    def alert(store_id: int, kind: str, text: str) -> None:
        # One open alert per broken wording, not one per message.
        if not any(open_alert.kind == kind for open_alert in rt.stores.list_alerts(store_id)):
            rt.stores.add_alert(store_id, kind, text)

    return Notifications(
        lambda store_id: store_mail(rt.db, store_id),
        post,
        alert,
        page_link=_self_service_jobs.page_links(
            rt.db, rt.config.secret_key, rt.config.public_url
        ),  # issue 15: the customer's page in their e-mails
        wording=wording.SandboxedWording(),
    )


def send_mail(message_id: int) -> str:
    """Send one outbox message by SMTP (or capture it in development); retried when the
    SMTP server fails for now, and marked failed when the retries are used up."""
    rt = runtime()
    try:
        return deliver(
            rt.outbox,
            message_id,
            smtp_url=rt.config.smtp_url,
            development=rt.config.development,
            sender=rt.config.mail_from,
        )
    except TransientError as exc:
        gave_up = prepare_retry(exc)
        if gave_up is not None:
            # Settled, so the mail sweep (`requeue_pending`) never sends it once its failed
            # job is gone, nor keeps looking at it; the merchant's outbox page shows why.
            rt.outbox.finish(message_id, FAILED, gave_up)
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
            with contextlib.suppress(redis.RedisError):
                limiter.pause(exc.retry_after)
        log.warning(
            "reconcile store=%s transient reason=%s; the next pass retries", store_id, exc.reason
        )
        return 0
    except redis.RedisError as exc:
        # Redis away (restarting): the same, and what was recorded stays 'pending' in the inbox
        # for the relay to queue once Redis is back.
        log.warning(
            "reconcile store=%s redis unavailable (%s); the next pass retries",
            store_id,
            type(exc).__name__,
        )
        return 0
    # A product.updated webhook may have been missed too: look again at every product that
    # open backorders wait for (each job is cheap when nothing arrived).
    for product_id in SqlReleaseLedger(rt.db).waiting_products(store_id):
        with contextlib.suppress(redis.RedisError):  # the next pass looks again
            enqueue_allocation(rt.redis, store_id, product_id)
    return result.added


def reconcile_all() -> int:
    """Enqueue `reconcile_store` for each connected store whose interval has passed."""
    rt = runtime()
    schedule_periodic(rt.redis, "reconcile_all", rt.config.worker)
    now = dt.datetime.now(dt.UTC)
    queued = 0
    for store in rt.stores.list(status="connected"):
        last = store.reconcile_checkpoint
        if last is not None and (now - last).total_seconds() < store.reconcile_interval_seconds:
            continue
        if enqueue_reconciliation(rt.redis, store.id):  # one per store at a time
            queued += 1
    return queued


def requeue_pending() -> int:
    """Enqueue inbox events left 'pending' (Redis was away when they arrived), events whose
    job Redis lost (it crashed or restarted), and the mail jobs of outbox messages missing for
    either reason; returns how many were queued."""
    rt = runtime()
    schedule_periodic(rt.redis, "requeue_pending", rt.config.worker)
    pending = enqueue_pending(rt.db, rt.redis, older_than_s=PENDING_OLDER_THAN)
    vanished = requeue_vanished(rt.db, rt.redis, older_than_s=VANISHED_OLDER_THAN)
    return pending + vanished + requeue_unsent_mail(rt.db, rt.redis, PENDING_OLDER_THAN)


def check_delays_all() -> int:
    """Periodic: delay notices of every store whose rule is on (jobs/delay_notices.py)."""
    from jobs.delay_notices import check_delays_all as check

    return check()


def warn_authorisations_all() -> int:
    """Periodic: warn merchants of card authorisations lapsing while their backorders wait
    (plugin/usecases/authorisations.py); returns how many were warned."""
    rt = runtime()
    schedule_periodic(rt.redis, "warn_authorisations_all", rt.config.worker)
    warned = authorisations.warn_expiring(
        rt.ledger,
        now=dt.datetime.now(dt.UTC),
        warn_before=dt.timedelta(seconds=rt.config.worker.authorisation_warning),
    )
    return len(warned)


def reap_abandoned() -> list[str]:
    """Requeue jobs whose worker died mid-job (see plugin/adapters/queue/reaper.py)."""
    rt = runtime()
    schedule_periodic(rt.redis, "reap_abandoned", rt.config.worker)
    return reap_started_registry(rt.redis, [QUEUE_NAME], stale_after=rt.config.worker.reap_stale)


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
    ensure_schedules(connection, config.worker)
    if args.schedule_only:
        return 0
    db = bootstrap.open_database(config)
    db.migrate()
    enqueue_pending(db, connection, older_than_s=0)
    requeue_vanished(db, connection, older_than_s=0)
    requeue_unsent_mail(db, connection, older_than_s=0)
    db.dispose()
    # Built once, before RQ's scheduler process is forked and before the first job.
    prepare()
    worker = InProcessWorker(
        [event_queue(connection)],
        connection=connection,
        serializer=JSONSerializer,
        name=args.name,
        # Heartbeats every few seconds let the reaper tell a dead worker from a slow job;
        # frequent maintenance lets a surviving worker take the scheduler over quickly.
        job_monitoring_interval=config.worker.heartbeat,
        # An idle worker blocks in BLMOVE for worker_ttl - 15 s and only then runs its
        # maintenance (registry cleanup, taking the scheduler over from a dead worker); RQ's
        # default 420 s would leave scheduled jobs and retries stuck for minutes.
        worker_ttl=WORKER_TTL,
        maintenance_interval=config.worker.maintenance_interval,
    )
    stop = threading.Event()
    start_guardian(connect_redis(config, retries=5), stop, config.worker)
    # Webhooks only record their events; this thread queues them (plugin/adapters/queue/relay.py).
    # Its own engine and client, apart from the jobs' (and a forked process never touches them).
    threading.Thread(
        target=run_relay,
        args=(bootstrap.open_database(config), connect_redis(config, retries=5), stop),
        name="relay",
        daemon=True,
    ).start()
    try:
        worker.work(with_scheduler=True, burst=args.burst, logging_level=config.log_level)
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    # Jobs name their functions `worker.<name>`. Without this alias the first job would import
    # worker.py again from disk: a second copy of this module with adapters of its own, and
    # one that may no longer match the code this process loaded (a deploy under running
    # workers).
    sys.modules.setdefault("worker", sys.modules[__name__])
    sys.exit(main())
