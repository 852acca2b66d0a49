"""The split ledger (`splits`): each split's recorded steps, moved forward by single conditional
statements so that two workers racing on one split cannot both win."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    Release,
    Split,
    utcnow,
)
from plugin.adapters.sql.statements import (
    InvalidTransition,
    UnknownRecord,
    insert_ignoring_conflict,
    json_safe,
)
from plugin.core.split import resplit_key
from plugin.ports import ExpiringPayment, ReleaseState, SplitRecord, SplitState

_LINEAGE_LIMIT = 100  # re-splits of one original order; a guard against a corrupt loop


_FORWARD = (
    SplitState.PLANNED,
    SplitState.BACKORDER_CREATED,
    SplitState.ORIGINAL_UPDATED,
    SplitState.NOTED,
    SplitState.DONE,
)
_FINAL = (SplitState.DONE, SplitState.FAILED)


def _states_before(state: str) -> tuple[str, ...]:
    if state == SplitState.FAILED:
        return tuple(s for s in _FORWARD if s != SplitState.DONE)
    if state not in _FORWARD:
        raise ValueError(f"unknown split state {state!r}")
    return _FORWARD[: _FORWARD.index(state)]


def _split_record(row: Split) -> SplitRecord:
    return SplitRecord(
        store_id=row.store_id,
        original_order_id=row.original_order_id,
        split_key=row.split_key,
        state=row.state,
        plan=row.plan,
        backorder_order_id=row.backorder_order_id,
        create_attempted=row.create_attempted,
        error=row.error,
        payment_expires_at=row.payment_expires_at,
    )


class SqlSplitLedger:
    """`plugin.ports.SplitLedger`: a split only moves forward (planned → … → done, or failed)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, store_id: int, split_key: str) -> SplitRecord | None:
        with self.db.session() as session:
            row = self._row(session, store_id, split_key)
            return _split_record(row) if row is not None else None

    def start(
        self,
        store_id: int,
        original_order_id: str,
        split_key: str,
        plan: Mapping[str, object],
        *,
        payment_expires_at: dt.datetime | None = None,
    ) -> SplitRecord:
        """Insert in state PLANNED, or return the existing record for that key."""
        now = utcnow()
        values = {
            "store_id": store_id,
            "original_order_id": str(original_order_id),
            "split_key": split_key,
            "state": SplitState.PLANNED,
            "plan": json_safe(dict(plan)),
            "create_attempted": False,
            "attempts": 0,
            "payment_expires_at": payment_expires_at,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.session(write=True) as session:
            insert_ignoring_conflict(session, Split.__table__, values, ("store_id", "split_key"))
            row = self._row(session, store_id, split_key)
            assert row is not None  # inserted now or found by the conflict
            return _split_record(row)

    def mark_create_attempted(self, store_id: int, split_key: str) -> None:
        """Committed before the create call, so a retry knows to look for the order first."""
        with self.db.session(write=True) as session:
            result = session.execute(
                update(Split)
                .where(Split.store_id == store_id, Split.split_key == split_key)
                .values(create_attempted=True, attempts=Split.attempts + 1, updated_at=utcnow())
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise UnknownRecord(f"split {split_key} of store {store_id} does not exist")

    def advance(
        self,
        store_id: int,
        split_key: str,
        state: str,
        *,
        backorder_order_id: str | None = None,
        error: str | None = None,
    ) -> None:
        """Move forward to `state`; repeating the current state is a no-op (retries)."""
        values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
        if backorder_order_id is not None:
            values["backorder_order_id"] = str(backorder_order_id)
        if error is not None:
            values["error"] = error[:2000]
        where = (Split.store_id == store_id, Split.split_key == split_key)
        with self.db.session(write=True) as session:
            # One conditional UPDATE: of two workers racing, only one moves the row.
            result = session.execute(
                update(Split).where(*where, Split.state.in_(_states_before(state))).values(**values)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                return
            # Locked until commit: a concurrent writer's backorder order id is seen, not
            # overwritten (SQLite's writer lock serialises this; PostgreSQL needs the lock).
            row = self._row(session, store_id, split_key, for_update=True)
            if row is None:
                raise UnknownRecord(f"split {split_key} of store {store_id} does not exist")
            if row.state != state:
                raise InvalidTransition(f"split {split_key}: cannot go from {row.state} to {state}")
            if backorder_order_id is not None and row.backorder_order_id not in (
                None,
                str(backorder_order_id),
            ):
                raise InvalidTransition(
                    f"split {split_key} already has backorder order {row.backorder_order_id}"
                )
            if backorder_order_id is not None and row.backorder_order_id is None:
                row.backorder_order_id = str(backorder_order_id)
            if error is not None:
                row.error = error[:2000]

    def for_order(self, store_id: int, order_id: str) -> list[SplitRecord]:
        """Splits whose original or backorder order is `order_id`, oldest first."""
        query = (
            select(Split)
            .where(
                Split.store_id == store_id,
                or_(
                    Split.original_order_id == str(order_id),
                    Split.backorder_order_id == str(order_id),
                ),
            )
            .order_by(Split.id)
        )
        with self.db.session() as session:
            return [_split_record(row) for row in session.scalars(query)]

    def lineage(self, store_id: int, backorder_order_id: str) -> builtins.list[SplitRecord]:
        """The splits that made backorder order `backorder_order_id`, the first split of the
        customer's original order first: one for a `-001`; for a `-002` (a re-split, keyed
        `resplit:<id>`, whose original is the backorder order it was split from) also the
        split that made that order, and so on. Empty when no split made it."""
        chain: builtins.list[SplitRecord] = []
        order_id = str(backorder_order_id)
        while len(chain) < _LINEAGE_LIMIT:
            made = next(
                (s for s in self.for_order(store_id, order_id) if s.backorder_order_id == order_id),
                None,
            )
            if made is None:
                break
            chain.insert(0, made)
            if made.split_key != resplit_key(made.original_order_id):
                break  # a first split: its original is the order the customer placed
            order_id = made.original_order_id
        return chain

    # -- authorisations that lapse (`plugin.ports.PaymentExpiries`) ------------------------

    def expiring(self, before: dt.datetime) -> builtins.list[ExpiringPayment]:
        """Done splits whose authorisation lapses before `before`, not warned of yet, whose
        backorder has no release under way or done (a released backorder was captured, or its
        customer asked to pay)."""
        released = exists().where(
            Release.store_id == Split.store_id,
            Release.order_id == Split.backorder_order_id,
            Release.state != ReleaseState.PLANNED,
        )
        query = (
            select(Split)
            .where(
                Split.payment_expires_at.is_not(None),
                Split.payment_expires_at < before,
                Split.expiry_warned_at.is_(None),
                Split.state == SplitState.DONE,
                Split.backorder_order_id.is_not(None),
                ~released,
            )
            .order_by(Split.payment_expires_at, Split.id)
        )
        with self.db.session() as session:
            return [
                ExpiringPayment(
                    store_id=row.store_id,
                    split_key=row.split_key,
                    original_order_id=row.original_order_id,
                    backorder_order_id=str(row.backorder_order_id),
                    backorder_number=str(row.plan.get("backorder_number") or ""),
                    expires_at=row.payment_expires_at or before,
                )
                for row in session.scalars(query)
            ]

    def claim_expiry_warning(self, store_id: int, split_key: str, at: dt.datetime) -> bool:
        """One conditional UPDATE: of two runs racing, one warns."""
        with self.db.session(write=True) as session:
            result = session.execute(
                update(Split)
                .where(
                    Split.store_id == store_id,
                    Split.split_key == split_key,
                    Split.expiry_warned_at.is_(None),
                )
                .values(expiry_warned_at=at)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    @staticmethod
    def _row(
        session: Session, store_id: int, split_key: str, *, for_update: bool = False
    ) -> Split | None:
        query = select(Split).where(Split.store_id == store_id, Split.split_key == split_key)
        if for_update:
            query = query.with_for_update(key_share=True)  # see `locked_store`
        return session.scalars(query).one_or_none()
