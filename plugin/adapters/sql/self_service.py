"""Customers' self-service on SQL (issue 15): their links, the store's settings, their requests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    CustomerLink,
    CustomerRequest,
    DelayAction,
    DelayWatch,
    utcnow,
)
from plugin.adapters.sql.models import (
    SelfServiceSettings as SettingsRow,
)
from plugin.adapters.sql.statements import insert_ignoring_conflict
from plugin.ports import (
    CustomerRequestRecord,
    DateStyle,
    DelayWatchRecord,
    RequestState,
    SelfServiceSettings,
)


@dataclass(frozen=True)
class LinkRecord:
    store_id: int
    order_id: str
    order_number: str
    email_digest: str
    version: int
    updated_at: dt.datetime


def _link(row: CustomerLink) -> LinkRecord:
    return LinkRecord(
        row.store_id, row.order_id, row.order_number, row.email_digest, row.version, row.updated_at
    )


# Every split's e-mail links the customer's page (`get`): built once, so SQLAlchemy reuses its
# cache key instead of computing it per call.
_LINK = select(CustomerLink).where(
    CustomerLink.store_id == bindparam("store"), CustomerLink.order_id == bindparam("order")
)


class SqlCustomerLinks:
    """One row per order a customer was sent a link for: its link version and e-mail digest."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ensure(self, store_id: int, order_id: str, order_number: str, digest: str) -> LinkRecord:
        """The order's link record, made on first use (the number given then is kept; the
        digest follows the order's current e-mail, which every link names)."""
        now = utcnow()
        with self.db.transaction(write=True) as connection:
            inserted = insert_ignoring_conflict(
                connection,
                CustomerLink.__table__,
                {
                    "store_id": store_id,
                    "order_id": str(order_id),
                    "order_number": str(order_number),
                    "email_digest": digest,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                },
                ("store_id", "order_id"),
            )
            if inserted is None:
                connection.execute(
                    update(CustomerLink)
                    .where(
                        CustomerLink.store_id == store_id,
                        CustomerLink.order_id == str(order_id),
                        CustomerLink.email_digest != digest,
                    )
                    .values(email_digest=digest, updated_at=now)
                )
        if inserted is not None:  # the record is what was written (every split's e-mail)
            return LinkRecord(store_id, str(order_id), str(order_number), digest, 1, now)
        found = self.get(store_id, order_id)
        assert found is not None
        return found

    def get(self, store_id: int, order_id: str) -> LinkRecord | None:
        with self.db.session() as session:
            row = session.scalars(_LINK, {"store": store_id, "order": str(order_id)}).one_or_none()
            return _link(row) if row is not None else None

    def by_number(self, store_id: int, order_number: str) -> list[LinkRecord]:
        """Link records of the store's order numbered `order_number` (at most a few)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(CustomerLink)
                .where(
                    CustomerLink.store_id == store_id,
                    CustomerLink.order_number == str(order_number),
                )
                .limit(5)
            ).all()
            return [_link(row) for row in rows]

    def revoke(self, store_id: int, order_id: str) -> int | None:
        """Raise the order's link version: every link sent before stops working. The new
        version, or None when the order has no link record."""
        with self.db.session(write=True) as session:
            session.execute(
                update(CustomerLink)
                .where(CustomerLink.store_id == store_id, CustomerLink.order_id == str(order_id))
                .values(version=CustomerLink.version + 1, updated_at=utcnow())
            )
        found = self.get(store_id, order_id)
        return found.version if found is not None else None


class SqlSelfServiceSettings:
    """Each store's self-service settings; the defaults until the merchant saves them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, store_id: int) -> SelfServiceSettings:
        with self.db.session() as session:
            row = session.get(SettingsRow, store_id)
            if row is None:
                return SelfServiceSettings()
            return SelfServiceSettings(
                allow_cancel=row.allow_cancel,
                allow_delivery=row.allow_delivery,
                delay_rule=row.delay_rule,
                stated_shipping_days=row.stated_shipping_days,
                answer_days=row.answer_days,
                timezone=row.timezone,
                date_style=DateStyle(row.date_format),
                decimal_comma=row.decimal_comma,
            )

    def save(self, store_id: int, settings: SelfServiceSettings) -> None:
        values = {
            "allow_cancel": settings.allow_cancel,
            "allow_delivery": settings.allow_delivery,
            "delay_rule": settings.delay_rule,
            "stated_shipping_days": settings.stated_shipping_days,
            "answer_days": settings.answer_days,
            "timezone": settings.timezone,
            "date_format": settings.date_style.value,
            "decimal_comma": settings.decimal_comma,
            "updated_at": utcnow(),
        }
        with self.db.session(write=True) as session:
            row = session.get(SettingsRow, store_id)
            if row is None:
                session.add(SettingsRow(store_id=store_id, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)


def _request(row: CustomerRequest) -> CustomerRequestRecord:
    return CustomerRequestRecord(
        store_id=row.store_id,
        request_key=row.request_key,
        kind=row.kind,
        order_id=row.order_id,
        email=row.email,
        payload=dict(row.payload or {}),
        state=row.state,
        outcome=dict(row.outcome) if row.outcome is not None else None,
        error=row.error,
        created_at=row.created_at,
    )


class SqlCustomerRequests:
    """`plugin.ports.CustomerRequests`: one row per customer action, unique per key."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(
        self,
        store_id: int,
        request_key: str,
        *,
        kind: str,
        order_id: str,
        email: str,
        payload: Mapping[str, Any],
    ) -> CustomerRequestRecord | None:
        """Record a new request; None when one with that key exists (nothing is changed)."""
        now = utcnow()
        with self.db.session(write=True) as session:
            inserted = insert_ignoring_conflict(
                session,
                CustomerRequest.__table__,
                {
                    "store_id": store_id,
                    "request_key": request_key,
                    "kind": kind,
                    "order_id": str(order_id),
                    "email": email,
                    "payload": dict(payload),
                    "state": RequestState.REQUESTED,
                    "outcome": None,
                    "error": None,
                    "created_at": now,
                    "updated_at": now,
                },
                ("store_id", "request_key"),
            )
        return self.get(store_id, request_key) if inserted is not None else None

    def get(self, store_id: int, request_key: str) -> CustomerRequestRecord | None:
        with self.db.session() as session:
            row = session.scalars(
                select(CustomerRequest).where(
                    CustomerRequest.store_id == store_id,
                    CustomerRequest.request_key == request_key,
                )
            ).one_or_none()
            return _request(row) if row is not None else None

    def advance(
        self,
        store_id: int,
        request_key: str,
        state: str,
        *,
        outcome: Mapping[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state}
        if outcome is not None:
            values["outcome"] = dict(outcome)
        self._update(store_id, request_key, **values)

    def fail(self, store_id: int, request_key: str, error: str) -> None:
        self._update(store_id, request_key, error=error[:2000])

    def _update(self, store_id: int, request_key: str, **values: Any) -> None:
        with self.db.session(write=True) as session:
            session.execute(
                update(CustomerRequest)
                .where(
                    CustomerRequest.store_id == store_id,
                    CustomerRequest.request_key == request_key,
                )
                .values(updated_at=utcnow(), **values)
            )

    def for_order(self, store_id: int, order_id: str) -> list[CustomerRequestRecord]:
        """Requests about the customer's order `order_id`, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(CustomerRequest)
                .where(
                    CustomerRequest.store_id == store_id,
                    CustomerRequest.order_id == str(order_id),
                )
                .order_by(CustomerRequest.id)
            ).all()
            return [_request(row) for row in rows]

    def of_store(self, store_id: int, limit: int = 200) -> list[CustomerRequestRecord]:
        """The store's latest requests, newest first (the merchant's view)."""
        with self.db.session() as session:
            rows = session.scalars(
                select(CustomerRequest)
                .where(CustomerRequest.store_id == store_id)
                .order_by(CustomerRequest.id.desc())
                .limit(limit)
            ).all()
            return [_request(row) for row in rows]


def _watch(row: DelayWatch) -> DelayWatchRecord:
    return DelayWatchRecord(
        store_id=row.store_id,
        order_id=row.order_id,
        original_order_id=row.original_order_id,
        ordered_at=row.ordered_at,
        promised_date=row.promised_date,
        notices=tuple(row.notices or ()),
        answers=tuple(row.answers or ()),
        cancelled_at=row.cancelled_at,
        wake_at=row.wake_at,
    )


class SqlDelayRecords:
    """`plugin.ports.DelayRecords`: the followed backorder orders and every action carried out."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def watch(
        self,
        store_id: int,
        order_id: str,
        *,
        original_order_id: str,
        ordered_at: dt.datetime,
        promised_date: dt.date | None,
    ) -> DelayWatchRecord:
        with self.db.session(write=True) as session:
            insert_ignoring_conflict(
                session,
                DelayWatch.__table__,
                {
                    "store_id": store_id,
                    "order_id": str(order_id),
                    "original_order_id": str(original_order_id),
                    "ordered_at": ordered_at,
                    "promised_date": promised_date,
                    "notices": [],
                    "answers": [],
                    "created_at": utcnow(),
                },
                ("store_id", "order_id"),
            )
        found = self.get(store_id, order_id)
        assert found is not None
        return found

    def get(self, store_id: int, order_id: str) -> DelayWatchRecord | None:
        with self.db.session() as session:
            row = self._row(session, store_id, order_id)
            return _watch(row) if row is not None else None

    def for_orders(self, store_id: int, order_ids: list[str]) -> dict[str, DelayWatchRecord]:
        with self.db.session() as session:
            rows = session.scalars(
                select(DelayWatch).where(
                    DelayWatch.store_id == store_id, DelayWatch.order_id.in_(order_ids)
                )
            ).all()
            return {row.order_id: _watch(row) for row in rows}

    @staticmethod
    def _row(session: Any, store_id: int, order_id: str, lock: bool = False) -> DelayWatch | None:
        query = select(DelayWatch).where(
            DelayWatch.store_id == store_id, DelayWatch.order_id == str(order_id)
        )
        if lock:
            query = query.with_for_update()
        row: DelayWatch | None = session.scalars(query).one_or_none()
        return row

    def add_notice(self, store_id: int, order_id: str, notice: Mapping[str, Any]) -> None:
        with self.db.session(write=True) as session:
            row = self._row(session, store_id, order_id, lock=True)
            if row is None or any(n["number"] == notice["number"] for n in row.notices or []):
                return
            row.notices = [*(row.notices or []), dict(notice)]

    def add_answer(self, store_id: int, order_id: str, answer: Mapping[str, Any]) -> bool:
        with self.db.session(write=True) as session:
            row = self._row(session, store_id, order_id, lock=True)
            if row is None or any(
                a["notice_number"] == answer["notice_number"] for a in row.answers or []
            ):
                return False
            row.answers = [*(row.answers or []), dict(answer)]
            return True

    def mark_cancelled(self, store_id: int, order_id: str, at: dt.datetime) -> None:
        with self.db.session(write=True) as session:
            session.execute(
                update(DelayWatch)
                .where(
                    DelayWatch.store_id == store_id,
                    DelayWatch.order_id == str(order_id),
                    DelayWatch.cancelled_at.is_(None),
                )
                .values(cancelled_at=at)
            )

    def set_wake(self, store_id: int, order_id: str, at: dt.datetime | None) -> None:
        with self.db.session(write=True) as session:
            session.execute(
                update(DelayWatch)
                .where(DelayWatch.store_id == store_id, DelayWatch.order_id == str(order_id))
                .values(wake_at=at)
            )

    def claim(
        self, store_id: int, action_key: str, order_id: str, kind: str, data: Mapping[str, Any]
    ) -> bool:
        with self.db.session(write=True) as session:
            inserted = insert_ignoring_conflict(
                session,
                DelayAction.__table__,
                {
                    "store_id": store_id,
                    "action_key": action_key[:200],
                    "order_id": str(order_id),
                    "kind": kind,
                    "data": dict(data),
                    "created_at": utcnow(),
                },
                ("store_id", "action_key"),
            )
        return inserted is not None

    def actions(self, store_id: int, order_id: str | None = None) -> list[dict[str, Any]]:
        """Actions carried out, oldest first (the merchant's record)."""
        with self.db.session() as session:
            query = select(DelayAction).where(DelayAction.store_id == store_id)
            if order_id is not None:
                query = query.where(DelayAction.order_id == str(order_id))
            rows = session.scalars(query.order_by(DelayAction.id)).all()
            return [
                {"key": r.action_key, "order_id": r.order_id, "kind": r.kind,
                 "data": dict(r.data or {}), "at": r.created_at}
                for r in rows
            ]  # fmt: skip
