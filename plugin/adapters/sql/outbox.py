"""The e-mail outbox and each store's e-mail wording (kept in `stores.settings` JSON)."""

from __future__ import annotations

import builtins
import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import OutboxMessage, Store, utcnow
from plugin.adapters.sql.purchasing import SqlPurchasing
from plugin.adapters.sql.statements import UnknownRecord, insert_ignoring_conflict
from plugin.adapters.sql.stores import locked_store
from plugin.ports import Message, StoreMail, TemplateText

EMAIL_TEMPLATES_KEY = "email_templates"  # extra key in `stores.settings` (ignored by the core)
ALERT_EMAIL_KEY = "alert_email"  # written by the settings page (plugin/adapters/sql/merchants.py)

QUEUED = "queued"
SENT = "sent"
CAPTURED = "captured"  # development without SMTP_URL: kept here, never sent
FAILED = "failed"


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    store_id: int | None  # None: an account e-mail (plugin/adapters/mail/account_mail.py)
    key: str
    kind: str
    recipient: str
    subject: str
    body: str
    status: str
    attempts: int
    error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    attachments: tuple[tuple[str, str, str], ...] = ()  # (file name, content type, text)


# Each split's e-mail: its message written, read back by its job and settled. Core statements
# built once (the ORM cost several times the database's work for each).
_OUTBOX = cast(Table, OutboxMessage.__table__)
_STORE_TABLE = cast(Table, Store.__table__)
_MESSAGE = select(_OUTBOX).where(_OUTBOX.c.id == bindparam("b_id"))
_MESSAGE_ID = select(_OUTBOX.c.id).where(
    _OUTBOX.c.store_id == bindparam("b_store"), _OUTBOX.c.message_key == bindparam("b_key")
)
# The mail sweep's look at the oldest queued messages (index ix_outbox_messages_status_created_at,
# revision 0014: sent messages pile up, queued ones are few).
_QUEUED_BEFORE = (
    select(_OUTBOX.c.id)
    .where(_OUTBOX.c.status == QUEUED, _OUTBOX.c.created_at <= bindparam("b_cutoff"))
    .order_by(_OUTBOX.c.created_at, _OUTBOX.c.id)
    .limit(bindparam("b_limit"))
)
_FINISH = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("b_id"), _OUTBOX.c.status == QUEUED)
_STORE_MAIL = select(_STORE_TABLE.c.name, _STORE_TABLE.c.settings).where(
    _STORE_TABLE.c.id == bindparam("b_store")
)


def _record(row: OutboxMessage | Row[Any]) -> OutboxRecord:
    return OutboxRecord(
        id=row.id,
        store_id=row.store_id,
        key=row.message_key,
        kind=row.kind,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        attachments=tuple(
            (str(a["filename"]), str(a["content_type"]), str(a["text"]))
            for a in row.attachments or ()
        ),
    )


class OutboxRepository:
    """Messages by store; one row per (store, message key), so an event never mails twice."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, message: Message) -> tuple[int, bool]:
        """(id, True) for a new message; (id of the existing one, False) for a known key."""
        values = {
            "store_id": message.store_id,
            "message_key": message.key,
            "kind": message.kind,
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "attachments": [
                {"filename": name, "content_type": kind, "text": text}
                for name, kind, text in message.attachments
            ]
            or None,
            "status": QUEUED,
            "attempts": 0,
            "created_at": utcnow(),
        }
        with self.db.transaction(write=True) as connection:
            new_id = insert_ignoring_conflict(
                connection, _OUTBOX, values, ("store_id", "message_key")
            )
            if new_id is not None:
                return new_id, True
            existing = connection.execute(
                _MESSAGE_ID, {"b_store": message.store_id, "b_key": message.key}
            ).scalar_one()
            return int(existing), False

    def get(self, message_id: int) -> OutboxRecord | None:
        with self.db.transaction() as connection:
            row = connection.execute(_MESSAGE, {"b_id": message_id}).one_or_none()
            return _record(row) if row is not None else None

    def list(self, store_id: int, limit: int = 200) -> list[OutboxRecord]:
        """Newest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.store_id == store_id)
                .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
                .limit(limit)
            )
            return [_record(row) for row in rows]

    def queued_ids(self, *, older_than_s: float, limit: int) -> builtins.list[int]:
        """Ids of messages still 'queued' that were written at least `older_than_s` ago,
        oldest first, at most `limit`."""
        cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
        with self.db.transaction() as connection:
            rows = connection.execute(_QUEUED_BEFORE, {"b_cutoff": cutoff, "b_limit": limit})
            return [int(row.id) for row in rows]

    def count_attempt(self, message_id: int, error: str | None = None) -> None:
        self._set(message_id, attempts=OutboxMessage.attempts + 1, error=error)

    def finish(self, message_id: int, status: str, error: str | None = None) -> bool:
        """Move a queued message to `status`; False when it was no longer queued."""
        values = {"b_id": message_id, "status": status, "error": error, "sent_at": utcnow()}
        with self.db.transaction(write=True) as connection:
            return bool(connection.execute(_FINISH, values).rowcount)

    def _set(self, message_id: int, **values: Any) -> None:
        with self.db.session(write=True) as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
            )


# --- the store's wording and alert address -------------------------------------------------


def store_mail(db: Database, store_id: int) -> StoreMail:
    """Name, alert address and own wording of a store."""
    with db.transaction() as connection:
        row = connection.execute(_STORE_MAIL, {"b_store": store_id}).one_or_none()
        if row is None:
            raise UnknownRecord(f"store {store_id} does not exist")
        settings = row.settings or {}
        templates = {
            kind: TemplateText(str(text.get("subject", "")), str(text.get("body", "")))
            for kind, text in (settings.get(EMAIL_TEMPLATES_KEY) or {}).items()
            if isinstance(text, dict)
        }
        name, alert_email = row.name, str(settings.get(ALERT_EMAIL_KEY, ""))
    return StoreMail(
        name=name,
        alert_email=alert_email,
        templates=templates,
        expected_dates=SqlPurchasing(db).next_expected(store_id),
    )


def save_email_template(
    db: Database, store_id: int, kind: str, template: TemplateText | None
) -> None:
    """Store the store's wording of `kind` (None: back to the default). Only this key of the
    settings JSON changes, read and written in one transaction."""
    with db.session(write=True) as session:
        row = locked_store(session, store_id)
        if row is None:
            raise UnknownRecord(f"store {store_id} does not exist")
        settings = dict(row.settings or {})
        templates = dict(settings.get(EMAIL_TEMPLATES_KEY) or {})
        if template is None:
            templates.pop(kind, None)
        else:
            templates[kind] = {"subject": template.subject, "body": template.body}
        settings[EMAIL_TEMPLATES_KEY] = templates
        row.settings = settings  # a new dict: SQLAlchemy sees the JSON change
