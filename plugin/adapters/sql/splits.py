"""The split ledger (`splits`): each split's recorded steps, moved forward by single conditional
statements so that two workers racing on one split cannot both win."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Connection, Row, Table, bindparam, exists, or_, select, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    Alert,
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


# The worker moves a split through its states with these Core statements, built once: each step
# is one short transaction, and SQLAlchemy's ORM (a Session, identity map, bulk-update
# bookkeeping) cost several times the database's own work for it (README "Benchmarks",
# `worker_cpu`). Bound names are prefixed so they never collide with the SET columns an UPDATE
# takes from its parameters.
_SPLITS = cast(Table, Split.__table__)
_BY_KEY = (_SPLITS.c.store_id == bindparam("b_store"), _SPLITS.c.split_key == bindparam("b_key"))
_ROW = select(_SPLITS).where(*_BY_KEY)
_ROW_FOR_UPDATE = _ROW.with_for_update(key_share=True)  # see `locked_store`
# One per target state, each from the states before it; equalities rather than IN, which
# SQLAlchemy would render again at every execution.
_ADVANCE = {
    state: update(_SPLITS).where(
        *_BY_KEY, or_(*(_SPLITS.c.state == before for before in _states_before(state)))
    )
    for state in (*_FORWARD[1:], SplitState.FAILED)
}
_MARK_CREATE_ATTEMPTED = (
    update(_SPLITS).where(*_BY_KEY).values(create_attempted=True, attempts=_SPLITS.c.attempts + 1)
)
_SET_ON_ROW = update(_SPLITS).where(_SPLITS.c.id == bindparam("b_id"))
_FOR_ORDER = (
    select(_SPLITS)
    .where(
        _SPLITS.c.store_id == bindparam("b_store"),
        or_(
            _SPLITS.c.original_order_id == bindparam("b_order"),
            _SPLITS.c.backorder_order_id == bindparam("b_order"),
        ),
    )
    .order_by(_SPLITS.c.id)
)


def _split_record(row: Split | Row[Any]) -> SplitRecord:
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
        with self.db.transaction() as connection:
            row = self._row(connection, store_id, split_key)
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
        with self.db.transaction(write=True) as connection:
            inserted = insert_ignoring_conflict(
                connection, _SPLITS, values, ("store_id", "split_key")
            )
            if inserted is not None:  # what was written is the record: no need to read it back
                return SplitRecord(
                    store_id=store_id,
                    original_order_id=values["original_order_id"],
                    split_key=split_key,
                    state=SplitState.PLANNED,
                    plan=values["plan"],
                    payment_expires_at=payment_expires_at,
                )
            row = self._row(connection, store_id, split_key)
            assert row is not None  # found by the conflict
            return _split_record(row)

    def mark_create_attempted(self, store_id: int, split_key: str) -> None:
        """Committed before the create call, so a retry knows to look for the order first."""
        with self.db.transaction(write=True) as connection:
            result = connection.execute(
                _MARK_CREATE_ATTEMPTED,
                {"b_store": store_id, "b_key": split_key, "updated_at": utcnow()},
            )
            if result.rowcount == 0:
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
        key = {"b_store": store_id, "b_key": split_key}
        with self.db.transaction(write=True) as connection:
            # One conditional UPDATE: of two workers racing, only one moves the row.
            _states_before(state)  # ValueError for an unknown state
            advance = _ADVANCE.get(state)  # none to PLANNED, which nothing comes before
            if advance is not None and connection.execute(advance, {**values, **key}).rowcount:
                return
            # Locked until commit: a concurrent writer's backorder order id is seen, not
            # overwritten (SQLite's writer lock serialises this; PostgreSQL needs the lock).
            row = self._row(connection, store_id, split_key, for_update=True)
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
            fill: dict[str, Any] = {}
            if backorder_order_id is not None and row.backorder_order_id is None:
                fill["backorder_order_id"] = str(backorder_order_id)
            if error is not None:
                fill["error"] = error[:2000]
            if fill:
                connection.execute(_SET_ON_ROW, {**fill, "b_id": row.id, "updated_at": utcnow()})

    def for_order(self, store_id: int, order_id: str) -> list[SplitRecord]:
        """Splits whose original or backorder order is `order_id`, oldest first."""
        with self.db.transaction() as connection:
            rows = connection.execute(_FOR_ORDER, {"b_store": store_id, "b_order": str(order_id)})
            return [_split_record(row) for row in rows]

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

    def claim_expiry_warning(
        self, payment: ExpiringPayment, at: dt.datetime, *, alert_kind: str, message: str
    ) -> bool:
        """One conditional UPDATE (of two runs racing, one warns) and the alert, committed
        together."""
        with self.db.session(write=True) as session:
            result = session.execute(
                update(Split)
                .where(
                    Split.store_id == payment.store_id,
                    Split.split_key == payment.split_key,
                    Split.expiry_warned_at.is_(None),
                )
                .values(expiry_warned_at=at)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            session.add(
                Alert(
                    store_id=payment.store_id,
                    order_id=payment.original_order_id,
                    kind=alert_kind,
                    message=message,
                    created_at=utcnow(),
                )
            )
            return True

    @staticmethod
    def _row(
        connection: Connection, store_id: int, split_key: str, *, for_update: bool = False
    ) -> Row[Any] | None:
        query = _ROW_FOR_UPDATE if for_update else _ROW
        return connection.execute(query, {"b_store": store_id, "b_key": split_key}).one_or_none()
