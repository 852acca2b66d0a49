"""Real processes on one database (SQLite file or PostgreSQL): what each must do once."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from plugin.adapters.queue.jobs import event_job_id, event_queue
from plugin.adapters.queue.relay import enqueue_pending
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.inbox import InboxRepository
from plugin.adapters.sql.models import InboxEvent, Split
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.statements import InvalidTransition
from plugin.adapters.sql.stores import StoreRecord
from plugin.ports import SplitState


def _deliver(url: str, store_id: int, start: int, count: int) -> None:
    database = Database(url)
    inbox = InboxRepository(database)
    for number in range(start, start + count):
        # Every process also sends one shared duplicate per round.
        inbox.add(store_id, "order.created", str(number), "2026-03-01T10:00:00", "webhook")
        inbox.add(
            store_id, "order.updated", "shared", f"2026-03-01T10:00:{number % 60:02d}", "webhook"
        )
    database.dispose()


def test_processes_insert_the_same_events_at_once_without_errors_or_duplicates(
    db: Database, store: StoreRecord
) -> None:
    # SQLite: three processes on one file, no lock error. PostgreSQL: the unique insert under
    # concurrent transactions (ON CONFLICT DO NOTHING waits for the other's commit).
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_deliver, args=(db.url, store.id, start, 60))
        for start in (0, 1000, 2000)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0, 0]
    with db.session() as session:
        count = session.scalar(select(func.count()).select_from(InboxEvent))
        shared = session.scalar(
            select(func.count()).select_from(InboxEvent).where(InboxEvent.resource_id == "shared")
        )
    assert (count, shared) == (180 + 60, 60)


@pytest.mark.database("sqlite")  # SQLite's write-ahead log file
def test_wal_is_checkpointed_outside_the_writer_lock(db: Database, store: StoreRecord) -> None:
    # Our passive checkpoint every CHECKPOINT_EVERY_WRITES keeps the WAL to a few MB; SQLite's
    # own (at 8000 pages, ~32 MB) would let it grow past 20 MB over these writes.
    inbox = InboxRepository(db)
    for number in range(1500):
        inbox.add(store.id, "order.created", str(number), "2026-03-01T10:00:00", "webhook")
    wal = Path(db.engine.url.database or "").with_name(
        Path(db.engine.url.database or "").name + "-wal"
    )
    assert 0 < wal.stat().st_size < 6_000_000


def _claim(url: str, store_id: int, worker: str, keys: list[str], barrier: Any, won: Any) -> None:
    """A worker starting the same splits as another, then recording its backorder order."""
    database = Database(url)
    ledger = SqlSplitLedger(database)
    for key in keys:
        barrier.wait(timeout=60)  # both processes on the same split at the same moment
        ledger.start(store_id, key.removeprefix("split:"), key, {"lines": []})
        try:
            ledger.advance(
                store_id, key, SplitState.BACKORDER_CREATED, backorder_order_id=f"{worker}:{key}"
            )
        except InvalidTransition:
            continue
        won.put((worker, key))
    database.dispose()


def test_two_worker_processes_claiming_the_same_splits_win_each_once(
    db: Database, store: StoreRecord
) -> None:
    # The split ledger's guard when two jobs of one order run at once (the per-order Redis lock
    # aside): one insert per key, one conditional UPDATE wins, the other sees its order.
    context = multiprocessing.get_context("spawn")
    keys = [f"split:{number}" for number in range(1, 41)]
    barrier = context.Barrier(2)
    won = context.Queue()
    processes = [
        context.Process(target=_claim, args=(db.url, store.id, worker, keys, barrier, won))
        for worker in ("a", "b")
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=180)
    assert [p.exitcode for p in processes] == [0, 0]
    claimed = [won.get(timeout=10) for _ in keys]  # one winner a key, no more
    assert won.empty()
    winners = {key: worker for worker, key in claimed}
    ledger = SqlSplitLedger(db)
    records = {key: ledger.get(store.id, key) for key in keys}
    assert sorted(winners) == sorted(keys)
    assert {
        key: (record.state, record.backorder_order_id)
        for key, record in records.items()
        if record is not None
    } == {key: (SplitState.BACKORDER_CREATED, f"{winners[key]}:{key}") for key in keys}
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Split)) == len(keys)


def _webhooks(url: str, store_id: int, start: int, count: int) -> None:
    events = InboxRepository(Database(url))
    for number in range(start, start + count):
        events.receive(store_id, "order.created", str(number), "2026-03-01T10:00:00")
    events.db.dispose()


def _relay(url: str, redis_url: str, webhooks_done: Any) -> None:
    """`enqueue_pending` passes, as the relay makes them, until no webhook is left to come and
    nothing is pending."""
    database = Database(url)
    connection = redis.Redis.from_url(redis_url)
    inbox = InboxRepository(database)
    while True:
        finished = webhooks_done.is_set()  # read first: this pass then sees every event
        enqueue_pending(database, connection, older_than_s=0)
        if finished and not inbox.pending_ids(limit=1):
            break
    connection.close()
    database.dispose()


def test_two_relays_beside_concurrent_webhooks_queue_every_event_once(
    db: Database, store: StoreRecord, redis_url: str, redis_client: redis.Redis
) -> None:
    # In a worker only the holder of a Redis lock relays; here two relays run at once anyway,
    # to show the database side holds by itself: rows committed out of id order (PostgreSQL)
    # are found by a later pass, and a row two relays read is queued and marked once.
    context = multiprocessing.get_context("spawn")
    done = context.Event()
    relays = [context.Process(target=_relay, args=(db.url, redis_url, done)) for _ in range(2)]
    webhooks = [
        context.Process(target=_webhooks, args=(db.url, store.id, start, 150))
        for start in (0, 1000)
    ]
    for process in relays + webhooks:
        process.start()
    for process in webhooks:
        process.join(timeout=180)
    done.set()
    for process in relays:
        process.join(timeout=180)
    assert [p.exitcode for p in webhooks + relays] == [0, 0, 0, 0]
    events = InboxRepository(db).list(store.id, limit=1000)
    job_ids = event_queue(redis_client).job_ids
    assert len(events) == 300
    assert {event.status for event in events} == {"enqueued"}
    assert sorted(job_ids) == sorted(event_job_id(event.id) for event in events)
