"""`Database.together`: a split's ledger record and its audit entries commit as one (issue 17),
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from plugin.adapters.sql.audit import SqlAuditLog
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord
from plugin.core.model import BackorderMode, Policies
from plugin.ports import SplitState
from plugin.usecases.splitting import handle_order_event
from tests.fakes import (
    FakeAlerts,
    FakePlatform,
    FakePolicies,
    FakeReleaseLedger,
    make_line,
    make_order,
)


class Refused(Exception):
    """The database went away while one audit entry was written."""


class AuditFailingOnce(SqlAuditLog):
    """The SQL audit log, failing the first entry whose message starts with `prefix`."""

    def __init__(self, db: Database, prefix: str) -> None:
        super().__init__(db)
        self.prefix: str | None = prefix

    def record(self, store_id: int, order_id: str, kind: str, message: str, **data: object) -> None:
        if self.prefix is not None and message.startswith(self.prefix):
            self.prefix = None
            raise Refused(message)
        super().record(store_id, order_id, kind, message, **data)


def test_writes_in_the_block_are_unseen_until_it_ends_then_seen_together(
    db: Database, store: StoreRecord
) -> None:
    ledger, audit = SqlSplitLedger(db), SqlAuditLog(db)
    # Another process's view: its own engine and connections.
    other = Database(str(db.engine.url.render_as_string(hide_password=False)))
    try:
        with db.together():
            ledger.start(store.id, "1042", "1042:1", {"lines": []})
            audit.record(store.id, "1042", "info", "Started.")
            assert SqlSplitLedger(other).get(store.id, "1042:1") is None
            assert SqlAuditLog(other).for_order(store.id, "1042") == []
        record = SqlSplitLedger(other).get(store.id, "1042:1")
        assert record is not None and record.state == SplitState.PLANNED
        assert [e.message for e in SqlAuditLog(other).for_order(store.id, "1042")] == ["Started."]
    finally:
        other.dispose()


def test_a_failure_in_the_block_writes_nothing_of_it(db: Database, store: StoreRecord) -> None:
    ledger, audit = SqlSplitLedger(db), SqlAuditLog(db)
    ledger.start(store.id, "1042", "1042:1", {"lines": []})

    with pytest.raises(Refused), db.together():
        ledger.advance(store.id, "1042:1", SplitState.BACKORDER_CREATED, backorder_order_id="5000")
        with db.together():  # an inner block joins the outer one
            audit.record(store.id, "1042", "info", "Created.")
        raise Refused("after both writes")

    record = ledger.get(store.id, "1042:1")
    assert record is not None
    assert (record.state, record.backorder_order_id) == (SplitState.PLANNED, None)
    assert audit.for_order(store.id, "1042") == []


def _split(db: Database, store: StoreRecord, platform: FakePlatform, audit: SqlAuditLog) -> str:
    result = handle_order_event(
        store.id,
        "1042",
        platform=platform,
        ledger=SqlSplitLedger(db),
        releases=FakeReleaseLedger(),
        policies=FakePolicies(Policies()),
        audit=audit,
        alerts=FakeAlerts(),
        together=db.together,
    )
    return result.status


def _store_with_an_order_to_split() -> FakePlatform:
    platform = FakePlatform()
    platform.add_order(make_order("1042", [make_line("1", "p1", 5), make_line("2", "p2", 2)]))
    platform.set_stock("p1", 3, backorders=BackorderMode.YES)
    platform.set_stock("p2", 10)
    return platform


@pytest.mark.parametrize(
    ("failing", "left_in"),
    [
        ("Split:", None),  # the decision, with the split's first record
        ("Writing the split", SplitState.PLANNED),  # the call, with create_attempted
        ("Split done", SplitState.NOTED),  # the last entry, with DONE
    ],
)
def test_a_step_whose_audit_entry_fails_is_not_recorded_and_the_retry_finishes_once(
    db: Database, store: StoreRecord, failing: str, left_in: str | None
) -> None:
    platform = _store_with_an_order_to_split()
    ledger = SqlSplitLedger(db)

    with pytest.raises(Refused):
        _split(db, store, platform, AuditFailingOnce(db, failing))

    records = ledger.for_order(store.id, "1042")
    assert [(r.state, r.create_attempted) for r in records] == (
        [] if left_in is None else [(left_in, left_in != SplitState.PLANNED)]
    )
    audit = SqlAuditLog(db)
    assert not any(e.message.startswith(failing) for e in audit.for_order(store.id, "1042"))

    assert _split(db, store, platform, audit) == "split"

    [record] = ledger.for_order(store.id, "1042")
    assert (record.state, record.backorder_order_id) == (SplitState.DONE, "5000")
    assert [c.order_id for c in platform.created] == ["5000"]
    entries = [e.message for e in audit.for_order(store.id, "1042")]
    assert [m for m in entries if m.startswith(failing)] == [
        next(m for m in entries if m.startswith(failing))
    ]
    assert entries[-1] == "Split done: backorder order 1042-001 (id 5000)."
