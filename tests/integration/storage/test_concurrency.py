from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plugin.storage.db import Database
from plugin.storage.models import InboxEvent
from plugin.storage.repositories import SqlInbox, StoreRecord


def _deliver(url: str, store_id: int, start: int, count: int) -> None:
    database = Database(url)
    inbox = SqlInbox(database)
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
    inbox = SqlInbox(db)
    for number in range(1500):
        inbox.add(store.id, "order.created", str(number), "2026-03-01T10:00:00", "webhook")
    wal = Path(db.engine.url.database or "").with_name(
        Path(db.engine.url.database or "").name + "-wal"
    )
    assert 0 < wal.stat().st_size < 6_000_000
