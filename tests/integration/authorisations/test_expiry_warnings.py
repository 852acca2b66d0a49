"""Lapsing card authorisations on the split ledger (SQLite and PostgreSQL): recorded at split
time, the merchant warned once per waiting backorder within the warning window, never for a
released one."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.releases import SqlReleaseLedger
from plugin.adapters.sql.splits import SqlSplitLedger
from plugin.adapters.sql.stores import StoreRecord, StoreRepository
from plugin.usecases.authorisations import ALERT_KIND, warn_expiring

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(hours=48)


def test_each_waiting_backorder_is_warned_once_within_the_window(
    db: Database, store: StoreRecord, stores: StoreRepository
) -> None:
    splits = SqlSplitLedger(db)
    for key, original, expires, state in (
        ("a", "1", NOW + dt.timedelta(hours=47), "done"),  # within the window
        ("b", "2", NOW + dt.timedelta(hours=49), "done"),  # not yet
        ("c", "3", NOW - dt.timedelta(hours=1), "done"),  # lapsed already: still said
        ("d", "4", NOW + dt.timedelta(hours=1), "planned"),  # the split is not finished
        ("e", "5", None, "done"),  # paid: nothing to lapse
        ("f", "6", NOW + dt.timedelta(hours=2), "done"),  # released below
    ):
        splits.start(
            store.id, original, key, {"backorder_number": f"{original}-001"},
            payment_expires_at=expires,
        )  # fmt: skip
        if state == "done":
            splits.advance(store.id, key, "done", backorder_order_id=f"fo-{original}")
    releases = SqlReleaseLedger(db)
    releases.start(store.id, "release:fo-6", "fo-6", "processing", [])
    releases.advance(store.id, "release:fo-6", "status_set")
    assert splits.get(store.id, "a").payment_expires_at == NOW + dt.timedelta(hours=47)  # type: ignore[union-attr]

    warned = warn_expiring(splits, now=NOW, warn_before=WINDOW)

    assert [(p.original_order_id, p.backorder_number) for p in warned] == [
        ("3", "3-001"),
        ("1", "1-001"),
    ]
    alerts = stores.list_alerts(store.id)
    assert [(a.kind, a.order_id) for a in alerts] == [(ALERT_KIND, "1"), (ALERT_KIND, "3")]
    assert alerts[0].message == (
        "The card authorisation of order 1 lapses at 2026-12-06 11:00 UTC, and backorder 1-001 "
        "still waits for stock. Released before then, the rest is captured; released after, the "
        "customer is sent an invoice to pay it instead. Capture it by hand now if you prefer."
    )
    assert alerts[1].message.startswith("The card authorisation of order 3 lapsed at ")

    # Later runs warn of nothing twice; "b" comes into the window a day on.
    assert warn_expiring(splits, now=NOW, warn_before=WINDOW) == []
    later = warn_expiring(splits, now=NOW + dt.timedelta(days=1), warn_before=WINDOW)
    assert [p.original_order_id for p in later] == ["2"]
    assert len(stores.list_alerts(store.id)) == 3
    claimed = warned[1]  # "a": claimed once already, so nothing is written
    assert not splits.claim_expiry_warning(claimed, NOW, alert_kind=ALERT_KIND, message="again")
    assert len(stores.list_alerts(store.id)) == 3


class Crash(Exception):
    """The worker dying while the warning is written."""


def test_a_crash_while_alerting_leaves_the_warning_to_the_next_run(
    db: Database, store: StoreRecord, stores: StoreRepository
) -> None:
    """The claim and the merchant's alert are one write: a run that dies writing the alert
    leaves the split unclaimed (the warning used to be lost: claimed, never said)."""
    splits = SqlSplitLedger(db)
    splits.start(
        store.id, "1", "a", {"backorder_number": "1-001"},
        payment_expires_at=NOW + dt.timedelta(hours=1),
    )  # fmt: skip
    splits.advance(store.id, "a", "done", backorder_order_id="fo-1")

    def crash_on_alert(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ALERTS"):
            raise Crash

    event.listen(db.engine, "before_cursor_execute", crash_on_alert)
    try:
        with pytest.raises(Crash):
            warn_expiring(splits, now=NOW, warn_before=WINDOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", crash_on_alert)
    assert stores.list_alerts(store.id) == []
    assert [p.split_key for p in splits.expiring(NOW + WINDOW)] == ["a"]  # not claimed

    warned = warn_expiring(splits, now=NOW, warn_before=WINDOW)

    assert [p.split_key for p in warned] == ["a"]
    assert [(a.kind, a.order_id) for a in stores.list_alerts(store.id)] == [(ALERT_KIND, "1")]
    assert warn_expiring(splits, now=NOW, warn_before=WINDOW) == []
