"""The audit trail (`audit_entries`): every decision, with its reasons."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    AuditEntry,
    utcnow,
)

AUDIT_KINDS = ("decision", "call", "retry", "error", "info")
# A split appends three entries: a Core insert built once, not an ORM object flushed by a Session.
_INSERT_ENTRY = insert(cast(Table, AuditEntry.__table__))


@dataclass(frozen=True)
class AuditRecord:
    id: int
    store_id: int
    order_id: str
    at: dt.datetime
    kind: str
    message: str
    data: Mapping[str, Any]


class SqlAuditLog:
    """`plugin.ports.AuditLog`: the trail of every decision and call for one order."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, store_id: int, order_id: str, kind: str, message: str, **data: object) -> None:
        """Append one entry; `data` must be JSON-able (Decimal and dates become strings)."""
        if kind not in AUDIT_KINDS:
            raise ValueError(f"unknown audit kind {kind!r}")
        entry = {
            "store_id": store_id,
            "order_id": str(order_id),
            "at": utcnow(),
            "kind": kind,
            "message": message,
            "data": data,  # JSON text with Decimal and dates as strings (`json_text`)
        }
        with self.db.transaction(write=True) as connection:
            connection.execute(_INSERT_ENTRY, entry)

    def for_order(self, store_id: int, order_id: str) -> list[AuditRecord]:
        """The order's trail, oldest first."""
        query = (
            select(AuditEntry)
            .where(AuditEntry.store_id == store_id, AuditEntry.order_id == str(order_id))
            .order_by(AuditEntry.id)
        )
        with self.db.session() as session:
            return [
                AuditRecord(
                    id=row.id,
                    store_id=row.store_id,
                    order_id=row.order_id,
                    at=row.at,
                    kind=row.kind,
                    message=row.message,
                    data=row.data,
                )
                for row in session.scalars(query)
            ]
