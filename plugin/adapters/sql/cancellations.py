"""Cancellations of backorder lines (`plugin.ports.CancellationLedger`) on SQL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Cancellation, utcnow
from plugin.adapters.sql.statements import insert_ignoring_conflict
from plugin.ports import CancellationRecord, CancelState


def _record(row: Cancellation) -> CancellationRecord:
    return CancellationRecord(
        store_id=row.store_id,
        cancel_key=row.cancel_key,
        backorder_order_id=row.backorder_order_id,
        original_order_id=row.original_order_id,
        line_id=row.line_id,
        product_id=row.product_id,
        variant_id=row.variant_id,
        quantity=row.quantity,
        reason=row.reason,
        requested_by=row.requested_by,
        state=row.state,
        write_attempted=row.write_attempted,
        attempt=row.attempt,
        outcome=dict(row.outcome) if row.outcome is not None else None,
        error=row.error,
        created_at=row.created_at,
    )


class SqlCancellationLedger:
    """One row per cancelled backorder line, unique per store and cancel key."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, store_id: int, cancel_key: str) -> CancellationRecord | None:
        with self.db.session() as session:
            row = session.scalars(
                select(Cancellation).where(
                    Cancellation.store_id == store_id, Cancellation.cancel_key == cancel_key
                )
            ).one_or_none()
            return _record(row) if row is not None else None

    def request(
        self,
        store_id: int,
        cancel_key: str,
        *,
        backorder_order_id: str,
        original_order_id: str,
        line_id: str,
        product_id: str,
        variant_id: str | None,
        quantity: int,
        reason: str,
        requested_by: str,
    ) -> CancellationRecord | None:
        """Record a new request, or reopen one that was refused before its write; None when
        the line is cancelled or being cancelled already (nothing is changed then)."""
        now = utcnow()
        values = {
            "store_id": store_id,
            "cancel_key": cancel_key,
            "backorder_order_id": str(backorder_order_id),
            "original_order_id": str(original_order_id),
            "line_id": str(line_id),
            "product_id": str(product_id),
            "variant_id": variant_id,
            "quantity": quantity,
            "reason": reason,
            "requested_by": requested_by,
            "state": CancelState.REQUESTED,
            "write_attempted": False,
            "attempt": 1,
            "outcome": None,
            "error": None,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.session(write=True) as session:
            inserted = insert_ignoring_conflict(
                session, Cancellation.__table__, values, ("store_id", "cancel_key")
            )
            if inserted is None:
                # Reopen only a refused request (one conditional UPDATE: two clicks reopen once).
                reopened = session.execute(
                    update(Cancellation)
                    .where(
                        Cancellation.store_id == store_id,
                        Cancellation.cancel_key == cancel_key,
                        Cancellation.error.is_not(None),
                        Cancellation.write_attempted.is_(False),
                    )
                    .values(
                        reason=reason,
                        requested_by=requested_by,
                        error=None,
                        attempt=Cancellation.attempt + 1,
                        updated_at=now,
                    )
                )
                if not reopened.rowcount:  # type: ignore[attr-defined]
                    return None
        return self.get(store_id, cancel_key)

    def mark_write_attempted(
        self, store_id: int, cancel_key: str, outcome: Mapping[str, Any]
    ) -> None:
        """Committed before the write, with the decided outcome, so a retry repeats it."""
        self._update(store_id, cancel_key, write_attempted=True, outcome=dict(outcome))

    def advance(
        self,
        store_id: int,
        cancel_key: str,
        state: str,
        *,
        outcome: Mapping[str, Any] | None = None,
    ) -> None:
        values: dict[str, Any] = {"state": state}
        if outcome is not None:
            values["outcome"] = dict(outcome)
        self._update(store_id, cancel_key, **values)

    def fail(self, store_id: int, cancel_key: str, error: str) -> None:
        """Stop the cancellation where it is, with a message for the merchant."""
        self._update(store_id, cancel_key, error=error[:2000])

    def _update(self, store_id: int, cancel_key: str, **values: Any) -> None:
        with self.db.session(write=True) as session:
            session.execute(
                update(Cancellation)
                .where(Cancellation.store_id == store_id, Cancellation.cancel_key == cancel_key)
                .values(updated_at=utcnow(), **values)
            )

    def for_order(self, store_id: int, order_id: str) -> list[CancellationRecord]:
        """Cancellations of lines of backorder order `order_id` or of its original, oldest
        first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(Cancellation)
                .where(
                    Cancellation.store_id == store_id,
                    (Cancellation.backorder_order_id == str(order_id))
                    | (Cancellation.original_order_id == str(order_id)),
                )
                .order_by(Cancellation.id)
            ).all()
            return [_record(row) for row in rows]

    def of_store(self, store_id: int) -> list[CancellationRecord]:
        """Every cancellation of the store, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(Cancellation)
                .where(Cancellation.store_id == store_id)
                .order_by(Cancellation.id)
            ).all()
            return [_record(row) for row in rows]

    def orders_with_open_cancellation(self, store_id: int) -> set[str]:
        """Backorder orders that a cancellation not yet carried out is waiting on."""
        with self.db.session() as session:
            return set(
                session.scalars(
                    select(Cancellation.backorder_order_id).where(
                        Cancellation.store_id == store_id,
                        Cancellation.state != CancelState.DONE,
                        Cancellation.error.is_(None),
                    )
                )
            )

    def removed_lines(self, store_id: int) -> set[tuple[str, str]]:
        """(backorder order id, plan line id) of the lines whose cancellation was written to
        the store (written, noted or done): the store's order no longer has them. A line whose
        write was only attempted is not certain to be gone, so it is not listed."""
        with self.db.session() as session:
            rows = session.execute(
                select(Cancellation.backorder_order_id, Cancellation.line_id).where(
                    Cancellation.store_id == store_id,
                    Cancellation.state != CancelState.REQUESTED,
                )
            )
            return {(order_id, line_id) for order_id, line_id in rows}
