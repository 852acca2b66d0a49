"""The inbox (`inbox_events`): one row per state of a resource a store told us about, moved
through its statuses by the relay and the worker.

Writes whose outcome depends on the current row are single conditional statements, so two
workers racing on one row cannot both win."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, or_, select, update

from plugin.adapters.sql.db import Database, DriverStatement
from plugin.adapters.sql.models import (
    InboxEvent,
    utcnow,
)
from plugin.adapters.sql.statements import (
    insert_ignoring_conflict,
    insert_statement,
)
from plugin.adapters.sql.stores import TOUCH_STORE, WEBHOOK_TARGET, StoreChanged
from plugin.core.model import ProductRef

_INBOX = cast(Table, InboxEvent.__table__)
_PENDING_IDS = (
    select(_INBOX.c.id)
    .where(_INBOX.c.status == "pending")
    .order_by(_INBOX.c.id)
    .limit(bindparam("limit"))
)
_PENDING_IDS_BEFORE = _PENDING_IDS.where(_INBOX.c.received_at <= bindparam("cutoff"))
# What every event job does to its row (read it, count the attempt, settle it): Core statements
# built once, a fraction of the ORM's cost per statement.
_EVENT = select(_INBOX).where(_INBOX.c.id == bindparam("b_id"))
_COUNT_ATTEMPT = (
    update(_INBOX).where(_INBOX.c.id == bindparam("b_id")).values(attempts=_INBOX.c.attempts + 1)
)
# Per set of statuses an event may settle from (`_move`); equalities rather than IN, which
# SQLAlchemy would render again at every execution.
_SETTLE: dict[tuple[str, ...], Any] = {}


def _settle(from_statuses: tuple[str, ...]) -> Any:
    statement = _SETTLE.get(from_statuses)
    if statement is None:
        statement = _SETTLE[from_statuses] = update(_INBOX).where(
            _INBOX.c.id == bindparam("b_id"),
            or_(*(_INBOX.c.status == status for status in from_statuses)),
        )
    return statement


def normalize_modified_gmt(value: str | dt.datetime) -> str:
    """`date_modified_gmt` as `YYYY-MM-DDTHH:MM:SS` UTC (naive input is already GMT).

    WooCommerce sends `2017-03-22T16:28:08` (GMT, no offset; reference woocommerce/orders.md);
    reconciliation passes datetimes. One spelling keeps the dedupe key the same for both.
    """
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")


def dedupe_key(
    topic: str, resource_id: str, modified_gmt: str | dt.datetime, fingerprint: str | None = None
) -> str:
    """`resource:resource_id:date_modified_gmt:fingerprint`: one key per state of a resource,
    whatever the topic or source that reports it.

    `date_modified_gmt` has one-second resolution, so the content's fingerprint
    (`plugin/platforms/woocommerce/fingerprint.py`) tells apart two states saved within one
    second; without one (a merchant's "split now") the moment alone names the state. The key
    names the resource (`order`), not the topic: a job does the same for `order.created` and
    `order.updated` (worker.py ORDER_TOPICS), so one state delivered under both topics, or seen
    by reconciliation after a webhook, is one event. Rows recorded before fingerprints (keys
    `topic:id:moment`) match no new key: a state they hold may be queued once more, and its job
    re-fetches the order and finds nothing new to do.
    """
    resource = topic.partition(".")[0]
    key = f"{resource}:{resource_id}:{normalize_modified_gmt(modified_gmt)}"
    return f"{key}:{fingerprint}" if fingerprint else key


@dataclass(frozen=True)
class InboxRecord:
    id: int
    store_id: int
    topic: str
    resource_id: str
    dedupe_key: str
    modified_gmt: str
    source: str
    status: str
    attempts: int
    error: str | None
    received_at: dt.datetime
    enqueued_at: dt.datetime | None
    finished_at: dt.datetime | None
    products: tuple[ProductRef, ...] = ()  # what the delivery named (`products_text`)


def products_text(refs: Sequence[ProductRef]) -> str | None:
    """ProductRefs as the inbox stores them: `12 30:31` (None for none)."""
    return " ".join(f"{r.product_id}:{r.variant_id}" if r.variant_id else r.product_id
                    for r in refs) or None  # fmt: skip


def products_from_text(text: str | None) -> tuple[ProductRef, ...]:
    """`products_text` read back."""
    refs = []
    for item in (text or "").split():
        product, _, variant = item.partition(":")
        refs.append(ProductRef(product, variant or None))
    return tuple(refs)


def _inbox_record(row: InboxEvent | Row[Any]) -> InboxRecord:
    return InboxRecord(
        id=row.id,
        store_id=row.store_id,
        topic=row.topic,
        resource_id=row.resource_id,
        dedupe_key=row.dedupe_key,
        modified_gmt=row.modified_gmt,
        source=row.source,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        received_at=row.received_at,
        enqueued_at=row.enqueued_at,
        finished_at=row.finished_at,
        products=products_from_text(row.products),
    )


INBOX_SOURCES = ("webhook", "reconcile", "manual")  # manual: "split now" on the order page


def _inbox_values(
    store_id: int,
    topic: str,
    resource_id: str,
    modified_gmt: str | dt.datetime,
    source: str,
    at: dt.datetime,
    fingerprint: str | None,
) -> dict[str, Any]:
    if source not in INBOX_SOURCES:
        raise ValueError(f"unknown inbox source {source!r}")
    modified = normalize_modified_gmt(modified_gmt)
    return {
        "store_id": store_id,
        "topic": topic,
        "resource_id": str(resource_id),
        "dedupe_key": dedupe_key(topic, str(resource_id), modified, fingerprint),
        "modified_gmt": modified,
        "source": source,
        "status": "pending",
        "attempts": 0,
        "received_at": at,
    }


class InboxRepository:
    """`plugin.ports.Inbox` on the `inbox_events` table: recording, reading and moving inbox
    events through their statuses.

    pending (recorded; a webhook's job is usually queued already) → enqueued (a job is known to
    exist: set by reconciliation, "split now" and the pending sweep) → done, ignored or failed
    (set by the worker, from pending or enqueued).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        # store id → the minute this process last wrote its `last_event_at`: the statement
        # is skipped for the rest of that minute (the condition in SQL covers other processes).
        self._touched: dict[int, dt.datetime] = {}
        # The webhook's and the relay's statements run on a driver cursor, a fraction of
        # SQLAlchemy's execution cost; each compiles on its first use.
        dialect = db.engine.dialect
        insert_event = insert_statement(dialect.name, _INBOX, ("store_id", "dedupe_key"))
        self._target = DriverStatement(WEBHOOK_TARGET, dialect)
        self._insert = DriverStatement(insert_event, dialect)
        self._touch = DriverStatement(TOUCH_STORE, dialect)
        self._pending = DriverStatement(_PENDING_IDS, dialect)
        self._pending_before = DriverStatement(_PENDING_IDS_BEFORE, dialect)

    def add(
        self,
        store_id: int,
        topic: str,
        resource_id: str,
        modified_gmt: str | dt.datetime,
        source: str,
        *,
        fingerprint: str | None = None,
    ) -> int | None:
        """Insert a pending event; None when its dedupe key exists (also under a race).

        `modified_gmt` may be WooCommerce's text (GMT without offset) or an aware datetime;
        `fingerprint` is the content's (see `dedupe_key`).
        """
        values = _inbox_values(
            store_id, topic, resource_id, modified_gmt, source, utcnow(), fingerprint
        )
        with self.db.session(write=True) as session:
            return insert_ignoring_conflict(
                session, InboxEvent.__table__, values, ("store_id", "dedupe_key")
            )

    def receive(
        self,
        store_id: int,
        topic: str,
        resource_id: str,
        modified_gmt: str | dt.datetime,
        source: str = "webhook",
        *,
        fingerprint: str | None = None,
        at: dt.datetime | None = None,
        sealed_secret: str | None = None,
        products: Sequence[ProductRef] = (),
    ) -> int | None:
        """`add` and the store's `last_event_at` (to the minute) in one transaction
        (the webhook). With `sealed_secret` (the stored secret the signature was checked
        with), raises StoreChanged and records nothing unless the store is still connected
        with that secret."""
        at = at or utcnow()
        values = _inbox_values(store_id, topic, resource_id, modified_gmt, source, at, fingerprint)
        named = products_text(products)
        if named is not None:
            values["products"] = named
        minute = at.replace(second=0, microsecond=0)
        touch = self._touched.get(store_id) != minute
        with self.db.driver_cursor(write=True) as cursor:
            if sealed_secret is not None:
                row = self._target.execute(cursor, {"store": store_id}).fetchone()
                # WEBHOOK_TARGET's row is (status, sealed secret, platform); a store's platform
                # never changes.
                if row is None or (row[0], row[1]) != ("connected", sealed_secret):
                    raise StoreChanged(f"store {store_id} changed")
            inserted = self._insert.execute(cursor, values).fetchone()
            if touch:
                self._touch.execute(cursor, {"store": store_id, "at": at, "minute": minute})
        if touch:
            self._touched[store_id] = minute
        return None if inserted is None else int(inserted[0])

    def get(self, event_id: int) -> InboxRecord | None:
        """The event, or None."""
        with self.db.transaction() as connection:
            row = connection.execute(_EVENT, {"b_id": event_id}).one_or_none()
            return _inbox_record(row) if row is not None else None

    def list(
        self, store_id: int | None = None, *, status: str | None = None, limit: int = 100
    ) -> builtins.list[InboxRecord]:
        """Newest first."""
        query = select(InboxEvent).order_by(InboxEvent.id.desc()).limit(limit)
        if store_id is not None:
            query = query.where(InboxEvent.store_id == store_id)
        if status is not None:
            query = query.where(InboxEvent.status == status)
        with self.db.session() as session:
            return [_inbox_record(row) for row in session.scalars(query)]

    def pending_ids(self, *, older_than_s: float = 0, limit: int = 500) -> builtins.list[int]:
        """Ids of events still 'pending', oldest first; with `older_than_s`, only those that
        arrived at least that long ago (by this machine's clock: 0 takes every row, so a web
        server whose clock runs ahead cannot hold its events back). The relay asks every
        50 ms, so this runs on a driver cursor (`DriverStatement`)."""
        values: dict[str, Any] = {"limit": limit}
        statement = self._pending
        if older_than_s > 0:
            values["cutoff"] = utcnow() - dt.timedelta(seconds=older_than_s)
            statement = self._pending_before
        with self.db.driver_cursor() as cursor:
            return [int(row[0]) for row in statement.execute(cursor, values).fetchall()]

    def enqueued_older_than(
        self, seconds: float, *, now: dt.datetime | None = None, limit: int = 5000
    ) -> builtins.list[InboxRecord]:
        """Events 'enqueued' at least `seconds` ago and not finished, oldest first (their job
        should exist in Redis; `dispatch.requeue_vanished` checks)."""
        cutoff = (now or utcnow()) - dt.timedelta(seconds=seconds)
        query = (
            select(InboxEvent)
            .where(InboxEvent.status == "enqueued", InboxEvent.enqueued_at <= cutoff)
            .order_by(InboxEvent.id)
            .limit(limit)
        )
        with self.db.session() as session:
            return [_inbox_record(row) for row in session.scalars(query)]

    def mark_enqueued(self, event_id: int) -> bool:
        """pending → enqueued. False when the event had already moved on."""
        return self.mark_enqueued_many([event_id]) == 1

    def mark_enqueued_many(self, event_ids: Sequence[int]) -> int:
        """`mark_enqueued` for many events in one statement; returns how many moved."""
        if not event_ids:
            return 0
        statement = (
            update(_INBOX)
            .where(_INBOX.c.id.in_(event_ids), _INBOX.c.status == "pending")
            .values(status="enqueued", enqueued_at=utcnow())
        )
        with self.db.transaction(write=True) as connection:
            return int(connection.execute(statement).rowcount)

    def mark_started(self, event_id: int) -> None:
        """Count one processing attempt (the worker calls this when a job starts)."""
        with self.db.transaction(write=True) as connection:
            connection.execute(_COUNT_ATTEMPT, {"b_id": event_id})

    def mark_done(self, event_id: int) -> bool:
        """Processed successfully."""
        return self._move(event_id, ("pending", "enqueued", "failed"), "done", finished_at=utcnow())

    def mark_ignored(self, event_id: int, reason: str | None = None) -> bool:
        """Nothing to do for this event (e.g. not an order we act on)."""
        return self._move(
            event_id, ("pending", "enqueued"), "ignored", finished_at=utcnow(), error=reason
        )

    def mark_failed(self, event_id: int, error: str) -> bool:
        """A permanent failure, recorded for the merchant."""
        return self._move(
            event_id, ("pending", "enqueued"), "failed", finished_at=utcnow(), error=error[:2000]
        )

    def _move(self, event_id: int, from_statuses: Iterable[str], to: str, **values: Any) -> bool:
        statement = _settle(tuple(from_statuses))
        with self.db.transaction(write=True) as connection:
            return bool(
                connection.execute(statement, {**values, "status": to, "b_id": event_id}).rowcount
            )
