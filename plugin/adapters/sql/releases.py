"""Release records (issue 6): which backorder orders were released when stock arrived.

`SqlReleaseLedger` implements `plugin.ports.ReleaseLedger`. A release is keyed by a
deterministic key per backorder order, unique per store, so two allocation jobs (or a retry
after a crash) release an order once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, select, update

from plugin.adapters.sql.cancellations import SqlCancellationLedger
from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import Release, ReleaseBump, Split, utcnow
from plugin.adapters.sql.statements import insert_ignoring_conflict, upsert
from plugin.core.model import ProductRef
from plugin.core.split import hold_key
from plugin.ports import (
    RELEASE_FINISHED,
    ReleaseRecord,
    ReleaseState,
    SplitState,
    release_pool,
)


def _record(row: Release) -> ReleaseRecord:
    return ReleaseRecord(
        store_id=row.store_id,
        release_key=row.release_key,
        order_id=row.order_id,
        state=row.state,
        target_status=row.target_status,
        lines=tuple(dict(line) for line in row.lines),
        payment_url=row.payment_url,
    )


def _waits(split: Split, line: Mapping[str, Any], removed: set[tuple[str, str]]) -> bool:
    """Whether the plan line moved units to the split's backorder order and was not cancelled
    there since."""
    if int(line.get("backorder") or 0) <= 0:
        return False
    return (str(split.backorder_order_id), str(line.get("line_id"))) not in removed


def _is_hold(split: Split) -> bool:
    """A record of an original that waits whole for stock (`core.split.hold_key`)."""
    return split.split_key == hold_key(split.original_order_id)


def _waiting_order(split: Split, line: Mapping[str, Any], removed: set[tuple[str, str]]) -> str:
    """The order that waits for the units of a finished split's plan line, or "": the
    backorder order it moved them to, or the original itself when it waits whole."""
    if _is_hold(split):
        cancelled = (str(split.original_order_id), str(line.get("line_id"))) in removed
        return (
            split.original_order_id if int(line.get("waiting") or 0) > 0 and not cancelled else ""
        )
    if split.backorder_order_id is None or not _waits(split, line, removed):
        return ""
    return split.backorder_order_id


# Every split reads these (`released_to_pay`, held units): built once, so SQLAlchemy reuses its
# cache key instead of computing it per call.
_RELEASED_TO_PAY = (
    select(Release)
    .where(Release.store_id == bindparam("store"), Release.target_status == "pending")
    .order_by(Release.id)
)


class SqlReleaseLedger:
    """Release records and the backorder orders that wait for a product, on SQL."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def backorder_orders_for(self, store_id: int, ref: ProductRef) -> list[str]:
        """Backorder orders of finished splits that moved units of product (or variation)
        `ref.product_id` in a line not cancelled, and originals held whole waiting for it
        (`core.split.hold_key`), oldest record first."""
        cancellations = SqlCancellationLedger(self.db)
        removed = cancellations.removed_lines(store_id)
        with self.db.session() as session:
            rows = session.scalars(
                select(Split)
                .where(Split.store_id == store_id, Split.state == SplitState.DONE)
                .order_by(Split.id)
            ).all()
            found: list[str] = []
            for row in rows:
                for line in (row.plan or {}).get("lines", []):
                    line_ref = line.get("ref") or {}
                    # A product id names the product and all its variations; a variation's
                    # own id (WooCommerce sends product.updated for variations too) names it.
                    wanted = {str(line_ref.get("product_id")), str(line_ref.get("variant_id"))}
                    waiting = _waiting_order(row, line, removed)
                    if ref.product_id in wanted and waiting:
                        if waiting not in found:
                            found.append(waiting)
                        break
        # A backorder order with a line being cancelled waits until the cancellation is carried out
        # (plugin/usecases/cancelling.py): no stock goes to a line the merchant cancelled.
        cancelling = cancellations.orders_with_open_cancellation(store_id)
        return [order_id for order_id in found if order_id not in cancelling]

    def parent_product(self, store_id: int, product_id: str) -> str:
        """The product of `product_id`: the parent product when a split of the store moved a
        variation with that id, else `product_id` itself (no store call: the split plans name
        both ids)."""
        with self.db.session() as session:
            plans = session.scalars(select(Split.plan).where(Split.store_id == store_id))
            for plan in plans:
                for line in (plan or {}).get("lines", []):
                    ref = line.get("ref") or {}
                    if ref.get("variant_id") and str(ref["variant_id"]) == str(product_id):
                        return str(ref.get("product_id"))
        return str(product_id)

    def waiting_products(self, store_id: int) -> list[str]:
        """Product ids (variation ids for variations) that backorder orders and originals held
        whole wait for, in lines not cancelled (an allocation job for a cancelled line finds
        nothing), unless released. A release begun and not finished (its job died or gave up)
        still counts as waiting: the product's next allocation job finishes it first."""
        removed = SqlCancellationLedger(self.db).removed_lines(store_id)
        with self.db.session() as session:
            released = set(
                session.scalars(
                    select(Release.order_id).where(
                        Release.store_id == store_id, Release.state.in_(RELEASE_FINISHED)
                    )
                )
            )
            rows = session.scalars(
                select(Split).where(Split.store_id == store_id, Split.state == SplitState.DONE)
            ).all()
            products: set[str] = set()
            for row in rows:
                for line in (row.plan or {}).get("lines", []):
                    ref = line.get("ref") or {}
                    waiting = _waiting_order(row, line, removed)
                    if waiting and waiting not in released:
                        products.add(str(ref.get("variant_id") or ref.get("product_id")))
            return sorted(products)

    def get(self, store_id: int, release_key: str) -> ReleaseRecord | None:
        with self.db.session() as session:
            row = session.scalars(
                select(Release).where(
                    Release.store_id == store_id, Release.release_key == release_key
                )
            ).one_or_none()
            return _record(row) if row is not None else None

    def for_order(self, store_id: int, order_id: str) -> list[ReleaseRecord]:
        with self.db.session() as session:
            rows = session.scalars(
                select(Release)
                .where(Release.store_id == store_id, Release.order_id == str(order_id))
                .order_by(Release.id)
            ).all()
            return [_record(row) for row in rows]

    def released_to_pay(self, store_id: int) -> list[ReleaseRecord]:
        """Releases that set an order to `pending` (their stock may be given back meanwhile)."""
        with self.db.session() as session:
            rows = session.scalars(_RELEASED_TO_PAY, {"store": store_id}).all()
            return [_record(row) for row in rows]

    def promised_units(self, store_id: int) -> dict[ProductRef, int]:
        """Units per stock figure released to orders set `pending` and not yet settled, from
        our records alone (no store call): what `held_by_unpaid_releases` reads the orders to
        confirm. A release whose customer paid counts until the next allocation or split of
        its product settles it."""
        held: dict[ProductRef, int] = {}
        with self.db.session() as session:
            rows = session.scalars(
                select(Release).where(
                    Release.store_id == store_id,
                    Release.target_status == "pending",
                    # The status is set, so the store gave the units back to its figure.
                    Release.state.in_((ReleaseState.STATUS_SET, ReleaseState.DONE)),
                )
            )
            for row in rows:
                for line in row.lines:
                    pool = release_pool(line)
                    held[pool] = held.get(pool, 0) + int(line.get("units") or 0)
        return held

    def start(
        self,
        store_id: int,
        release_key: str,
        order_id: str,
        target_status: str,
        lines: Sequence[Mapping[str, Any]],
    ) -> ReleaseRecord:
        """Insert in state PLANNED, or return the existing record for that key."""
        now = utcnow()
        values = {
            "store_id": store_id,
            "release_key": release_key,
            "order_id": str(order_id),
            "state": ReleaseState.PLANNED,
            "target_status": target_status,
            "lines": [dict(line) for line in lines],
            "payment_url": None,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.session(write=True) as session:
            insert_ignoring_conflict(
                session, Release.__table__, values, ("store_id", "release_key")
            )
        record = self.get(store_id, release_key)
        assert record is not None  # inserted now or found by the conflict
        return record

    def advance(
        self, store_id: int, release_key: str, state: str, *, payment_url: str | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": utcnow()}
        if payment_url is not None:
            values["payment_url"] = payment_url
        with self.db.session(write=True) as session:
            session.execute(
                update(Release)
                .where(Release.store_id == store_id, Release.release_key == release_key)
                .values(**values)
            )

    def bumps(self, store_id: int) -> dict[str, int]:
        """Priority bumps the merchant gave backorder orders (order id -> added priority)."""
        with self.db.session() as session:
            rows = session.scalars(select(ReleaseBump).where(ReleaseBump.store_id == store_id))
            return {row.order_id: row.bump for row in rows}

    def set_bump(self, store_id: int, order_id: str, bump: int) -> None:
        """Insert or replace the bump of one backorder order."""
        values = {"store_id": store_id, "order_id": str(order_id), "bump": bump}
        with self.db.session(write=True) as session:
            upsert(session, ReleaseBump.__table__, values, ("store_id", "order_id"))
