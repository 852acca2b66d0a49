"""Read-only queries behind the merchant pages (counts, open backorders)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import InboxEvent, Release, Split
from plugin.core.split import hold_key
from plugin.ports import SplitState


def inbox_counts(db: Database, store_id: int) -> dict[str, int]:
    """How many inbox events of a store are in each status."""
    with db.session() as session:
        rows = session.execute(
            select(InboxEvent.status, func.count())
            .where(InboxEvent.store_id == store_id)
            .group_by(InboxEvent.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def splits_of_store(
    db: Database, store_id: int, states: Iterable[str] | None = None
) -> list[Split]:
    """The store's split rows (detached), oldest first."""
    query = select(Split).where(Split.store_id == store_id).order_by(Split.id)
    if states is not None:
        query = query.where(Split.state.in_(tuple(states)))
    with db.session() as session:
        rows = list(session.scalars(query))
        session.expunge_all()
    return rows


def recent_audited_orders(db: Database, store_id: int, limit: int = 20) -> list[dict[str, object]]:
    """Orders with audit entries, newest first: id, label (a backorder order's number, an
    original's `#<number>`, else `#<id>`), last entry time, last decision."""
    from plugin.adapters.sql.models import AuditEntry

    with db.session() as session:
        rows = session.execute(
            select(AuditEntry.order_id, func.max(AuditEntry.id), func.max(AuditEntry.at))
            .where(AuditEntry.store_id == store_id)
            .group_by(AuditEntry.order_id)
            .order_by(func.max(AuditEntry.id).desc())
            .limit(limit)
        ).all()
        result: list[dict[str, object]] = []
        for order_id, _last_id, at in rows:
            decision = session.scalars(
                select(AuditEntry.message)
                .where(
                    AuditEntry.store_id == store_id,
                    AuditEntry.order_id == order_id,
                    AuditEntry.kind == "decision",
                )
                .order_by(AuditEntry.id.desc())
                .limit(1)
            ).first()
            result.append({"order_id": order_id, "at": at, "decision": decision or ""})
    labels = order_labels(db, store_id, [str(row["order_id"]) for row in result])
    for row in result:
        row["label"] = labels[str(row["order_id"])]
    return result


def order_labels(db: Database, store_id: int, order_ids: Iterable[str]) -> dict[str, str]:
    """How the pages name each order: a backorder order by its number (`1042-001`), an
    original by that number's stem (`#1042`: on Shopify the id is not the number and a held
    part is `fo-<n>`), an order no split names by its id (`#<id>`)."""
    ids = sorted(set(order_ids))
    numbers: dict[str, str] = {}
    with db.session() as session:
        for original_id, backorder_id, plan in session.execute(
            select(Split.original_order_id, Split.backorder_order_id, Split.plan).where(
                Split.store_id == store_id,
                or_(Split.backorder_order_id.in_(ids), Split.original_order_id.in_(ids)),
            )
        ):
            number = str(plan.get("backorder_number") or "")
            if number and backorder_id is not None:
                numbers[str(backorder_id)] = number  # a backorder order's own number wins
            if "-" in number:
                numbers.setdefault(str(original_id), "#" + number.rsplit("-", 1)[0])
    return {order_id: numbers.get(order_id) or f"#{order_id}" for order_id in ids}


def released_order_ids(db: Database, store_id: int) -> set[str]:
    """Backorder orders of a store that were released (or are being released)."""
    with db.session() as session:
        return set(session.scalars(select(Release.order_id).where(Release.store_id == store_id)))


def open_backorder_quantities(db: Database, store_id: int) -> dict[tuple[str, str | None], int]:
    """Units on backorder per (product_id, variant_id), from finished splits of the ledger
    whose backorder orders are not released (a partly released one was split again, and its
    waiting units are counted once, on the new order), and from originals held whole for
    stock (`core.split.hold_key`) not released yet."""
    released = released_order_ids(db, store_id)
    totals: dict[tuple[str, str | None], int] = {}
    for split in splits_of_store(db, store_id, states=("done",)):
        plan = split.plan or {}
        waiting_order: str | None
        if split.split_key == hold_key(split.original_order_id):
            waiting_order, field = split.original_order_id, "waiting"
        elif plan.get("outcome") == "split":
            waiting_order, field = split.backorder_order_id, "backorder"
        else:
            continue
        if waiting_order in released:
            continue
        for line in plan.get("lines", []):
            units = int(line.get(field, 0))
            if units <= 0:
                continue
            ref = line.get("ref") or {}
            key = (str(ref.get("product_id", "")), ref.get("variant_id") or None)
            totals[key] = totals.get(key, 0) + units
    return totals


def has_open_backorders(db: Database, store_id: int) -> bool:
    """Whether the store has a split being written or a backorder still waiting for stock."""
    writing = (
        SplitState.PLANNED,
        SplitState.BACKORDER_CREATED,
        SplitState.ORIGINAL_UPDATED,
        SplitState.NOTED,
    )
    return bool(splits_of_store(db, store_id, states=writing)) or bool(
        open_backorder_quantities(db, store_id)
    )
