"""Read-only queries behind the merchant pages (counts, open backorders)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select

from plugin.storage.db import Database
from plugin.storage.models import InboxEvent, Split


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
