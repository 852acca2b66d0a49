"""Repositories over `Database`: the ports of `plugin/ports.py` and the stores/inbox helpers.

Every method is its own unit of work (opens, commits and closes a session) so that callers in
the web process and in workers never hold a SQLite write lock across a platform call.
Writes whose outcome depends on the current row are single conditional statements, so two
workers racing on one row cannot both win.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plugin.adapters.sql.db import Database, DriverStatement
from plugin.adapters.sql.models import (
    Alert,
    AuditEntry,
    CustomerPolicyRow,
    InboxEvent,
    ProductPolicyRow,
    Split,
    Store,
    utcnow,
)
from plugin.adapters.vault import Vault
from plugin.core.model import (
    DEFAULT_ELIGIBLE_STATUSES,
    CustomerPolicy,
    DeliveryCondition,
    Order,
    OversoldAction,
    Policies,
    ProductPolicy,
    ProductRef,
    Status,
    StoreSettings,
)
from plugin.core.split import resplit_key
from plugin.errors import PermanentError
from plugin.ports import SplitRecord, SplitState

# ---------------------------------------------------------------------------------------------
# shared helpers

# Core tables for the hot paths: plain statements skip the ORM's per-statement bookkeeping.
_STORES = cast(Table, Store.__table__)
_LINEAGE_LIMIT = 100  # re-splits of one original order; a guard against a corrupt loop
_INBOX = cast(Table, InboxEvent.__table__)
_WEBHOOK_TARGET = select(_STORES.c.status, _STORES.c.webhook_secret_enc, _STORES.c.platform).where(
    _STORES.c.id == bindparam("store")
)
# `last_event_at` is shown to the minute (stores page): written by the first event of each
# minute, so a busy store's webhooks do not all rewrite its row (a page write per commit).
_TOUCH_STORE = (
    update(_STORES)
    .where(
        _STORES.c.id == bindparam("store"),
        or_(_STORES.c.last_event_at.is_(None), _STORES.c.last_event_at < bindparam("minute")),
    )
    .values(last_event_at=bindparam("at"))
)
_PENDING_IDS = (
    select(_INBOX.c.id)
    .where(_INBOX.c.status == "pending")
    .order_by(_INBOX.c.id)
    .limit(bindparam("limit"))
)
_PENDING_IDS_BEFORE = _PENDING_IDS.where(_INBOX.c.received_at <= bindparam("cutoff"))


class InvalidTransition(PermanentError):
    """A split was asked to move backwards, or out of a final state."""

    reason = "invalid_split_transition"


class UnknownRecord(PermanentError):
    """The store, event or split named does not exist."""

    reason = "not_found"


def _insert_ignoring_conflict(
    session: Session | Connection, table: Any, values: Mapping[str, Any], conflict: Sequence[str]
) -> int | None:
    """Insert one row and return its id, or None when `conflict` columns already hold it.

    One statement (`ON CONFLICT DO NOTHING`) on SQLite and PostgreSQL, so concurrent inserts
    of the same key never raise; other databases fall back to a savepoint.
    """
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    if dialect in ("sqlite", "postgresql"):
        statement = _insert_statement(dialect, table, tuple(conflict))
        inserted: int | None = session.execute(statement, dict(values)).scalar_one_or_none()
        return inserted
    try:
        with session.begin_nested():
            new_id: int = session.execute(
                insert(table).values(**values).returning(table.c.id)
            ).scalar_one()
            return new_id
    except IntegrityError:
        return None


_INSERT_STATEMENTS: dict[tuple[str, str, tuple[str, ...]], Any] = {}


def _insert_statement(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    # Built once per table: values come as parameters, so the compiled form is reused.
    key = (dialect, table.name, conflict)
    statement = _INSERT_STATEMENTS.get(key)
    if statement is None:
        module = sqlite if dialect == "sqlite" else postgresql
        statement = (
            module.insert(table)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c.id)
        )
        _INSERT_STATEMENTS[key] = statement
    return statement


def _upsert(
    session: Session, table: Any, values: Mapping[str, Any], conflict: Sequence[str]
) -> None:
    """Insert one row, or set its other columns to `values` when `conflict` columns already
    hold it: one statement (`ON CONFLICT DO UPDATE`), so two writers of the same key never
    fail on it (a select-then-insert does on PostgreSQL, where nothing serialises them)."""
    dialect = session.get_bind().dialect.name
    module = sqlite if dialect == "sqlite" else postgresql
    statement = module.insert(table).values(**values)
    changed = {name: statement.excluded[name] for name in values if name not in conflict}
    session.execute(statement.on_conflict_do_update(index_elements=list(conflict), set_=changed))


def _json_safe(value: Any) -> Any:
    """Plain JSON types only: Decimal and dates become strings."""

    def default(item: Any) -> Any:
        if isinstance(item, Decimal):
            return str(item)
        if isinstance(item, dt.datetime | dt.date):
            return item.isoformat()
        if isinstance(item, set | frozenset | tuple):
            return sorted(item) if isinstance(item, set | frozenset) else list(item)
        raise TypeError(f"not JSON serialisable: {type(item).__name__}")

    return json.loads(json.dumps(value, default=default))


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


# ---------------------------------------------------------------------------------------------
# store settings <-> JSON


def settings_to_dict(settings: StoreSettings) -> dict[str, Any]:
    """StoreSettings as the JSON stored in `stores.settings`."""
    return {
        "enabled": settings.enabled,
        "eligible_statuses": sorted(str(status) for status in settings.eligible_statuses),
        "default_delivery": str(settings.default_delivery),
        "oversold_action": str(settings.oversold_action),
        "additional_shipping": str(settings.additional_shipping),
        "numbering_pattern": settings.numbering_pattern,
        "customer_note_on_split": settings.customer_note_on_split,
    }


def settings_from_dict(data: Mapping[str, Any] | None) -> StoreSettings:
    """StoreSettings from stored JSON; missing keys take the defaults, unknown keys are ignored."""
    data = data or {}
    defaults = StoreSettings()
    try:
        statuses = data.get("eligible_statuses")
        return StoreSettings(
            enabled=bool(data.get("enabled", defaults.enabled)),
            eligible_statuses=(
                frozenset(Status(s) for s in statuses)
                if statuses is not None
                else DEFAULT_ELIGIBLE_STATUSES
            ),
            default_delivery=DeliveryCondition(
                data.get("default_delivery", defaults.default_delivery)
            ),
            oversold_action=OversoldAction(data.get("oversold_action", defaults.oversold_action)),
            additional_shipping=Decimal(
                str(data.get("additional_shipping", defaults.additional_shipping))
            ),
            numbering_pattern=str(data.get("numbering_pattern", defaults.numbering_pattern)),
            customer_note_on_split=bool(
                data.get("customer_note_on_split", defaults.customer_note_on_split)
            ),
        )
    except (ValueError, InvalidOperation) as error:
        raise PermanentError(
            f"stored store settings are invalid: {error}", reason="bad_settings"
        ) from error


# ---------------------------------------------------------------------------------------------
# stores


@dataclass(frozen=True)
class StoreCredentials:
    """Decrypted credentials of one store. Never log this object's fields."""

    base_url: str
    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    webhook_secret: str = field(repr=False)


@dataclass(frozen=True)
class WebhookTarget:
    store_id: int
    connected: bool
    webhook_secret: str = field(repr=False)
    # The secret as stored (encrypted): the inbox insert checks it is still the store's.
    sealed_secret: str = field(repr=False, default="")
    platform: str = ""  # `stores.platform`: the route of another platform refuses the store


# How long a web process trusts its cached webhook target before reading the store again. The
# inbox insert re-checks the secret and status in its own transaction, so a stale entry can
# only change which refusal a request gets (an unknown topic's 204 instead of a 404).
WEBHOOK_TARGET_TTL_S = 60.0


class StoreChanged(Exception):
    """The store was disconnected or given a new webhook secret after its target was read."""


@dataclass(frozen=True)
class StoreRecord:
    """A store row without its secrets."""

    id: int
    merchant_id: int | None
    name: str
    platform: str
    base_url: str
    webhook_ids: tuple[int, ...]
    settings: StoreSettings
    api_rate_limit: float
    reconcile_interval_seconds: int
    reconcile_checkpoint: dt.datetime | None
    last_event_at: dt.datetime | None
    status: str
    created_at: dt.datetime

    @property
    def is_connected(self) -> bool:
        return self.status == "connected"


@dataclass(frozen=True)
class AlertRecord:
    id: int
    store_id: int
    order_id: str | None
    kind: str
    message: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None


def _store_record(row: Store) -> StoreRecord:
    return StoreRecord(
        id=row.id,
        merchant_id=row.merchant_id,
        name=row.name,
        platform=row.platform,
        base_url=row.base_url,
        webhook_ids=tuple(int(i) for i in row.webhook_ids or ()),
        settings=settings_from_dict(row.settings),
        api_rate_limit=row.api_rate_limit,
        reconcile_interval_seconds=row.reconcile_interval_seconds,
        reconcile_checkpoint=row.reconcile_checkpoint,
        last_event_at=row.last_event_at,
        status=row.status,
        created_at=row.created_at,
    )


def _alert_record(row: Alert) -> AlertRecord:
    return AlertRecord(
        id=row.id,
        store_id=row.store_id,
        order_id=row.order_id,
        kind=row.kind,
        message=row.message,
        created_at=row.created_at,
        resolved_at=row.resolved_at,
    )


def locked_store(session: Session, store_id: int) -> Store | None:
    """The store's row, locked until the session ends, for a read, change and write back of
    its `settings` JSON: a concurrent writer of other keys waits, and its keys are kept (on
    SQLite the writer lock serialises write sessions; PostgreSQL needs the row lock). `FOR NO
    KEY UPDATE`, as an UPDATE takes: rows inserted for the store (their foreign-key check)
    do not wait for it, as they would for `FOR UPDATE`."""
    return session.get(Store, store_id, with_for_update={"key_share": True})


class StoreRepository:
    """Stores and their alerts. Secrets are encrypted with the Vault on write."""

    def __init__(self, db: Database, vault: Vault) -> None:
        self.db = db
        self.vault = vault
        # store id → (monotonic time read, target) of connected stores: every webhook needs
        # its store's secret, and the read was a transaction of its own.
        self._targets: dict[int, tuple[float, WebhookTarget]] = {}

    def create(
        self,
        *,
        name: str,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        webhook_secret: str,
        platform: str = "woocommerce",
        merchant_id: int | None = None,
        settings: StoreSettings | None = None,
        api_rate_limit: float = 5.0,
        reconcile_interval_seconds: int = 300,
        status: str = "connected",
    ) -> StoreRecord:
        """Insert a store and return it."""
        row = Store(
            name=name,
            base_url=base_url.rstrip("/"),
            platform=platform,
            merchant_id=merchant_id,
            consumer_key_enc=self.vault.encrypt(consumer_key),
            consumer_secret_enc=self.vault.encrypt(consumer_secret),
            webhook_secret_enc=self.vault.encrypt(webhook_secret),
            webhook_ids=[],
            settings=settings_to_dict(settings or StoreSettings()),
            api_rate_limit=api_rate_limit,
            reconcile_interval_seconds=reconcile_interval_seconds,
            status=status,
            created_at=utcnow(),
        )
        with self.db.session(write=True) as session:
            session.add(row)
            session.flush()
            return _store_record(row)

    def get(self, store_id: int) -> StoreRecord | None:
        """The store, or None."""
        with self.db.session() as session:
            row = session.get(Store, store_id)
            return _store_record(row) if row is not None else None

    def list(
        self, *, status: str | None = None, merchant_id: int | None = None
    ) -> builtins.list[StoreRecord]:
        """Stores ordered by id, optionally filtered."""
        query = select(Store).order_by(Store.id)
        if status is not None:
            query = query.where(Store.status == status)
        if merchant_id is not None:
            query = query.where(Store.merchant_id == merchant_id)
        with self.db.session() as session:
            return [_store_record(row) for row in session.scalars(query)]

    def credentials(self, store_id: int) -> StoreCredentials:
        """Decrypted credentials; raises UnknownRecord for a missing store."""
        with self.db.session() as session:
            row = session.get(Store, store_id)
            if row is None:
                raise UnknownRecord(f"store {store_id} does not exist")
            return StoreCredentials(
                base_url=row.base_url,
                consumer_key=self.vault.decrypt(row.consumer_key_enc),
                consumer_secret=self.vault.decrypt(row.consumer_secret_enc),
                webhook_secret=self.vault.decrypt(row.webhook_secret_enc),
            )

    def webhook_target(self, store_id: int, *, fresh: bool = True) -> WebhookTarget | None:
        """Status and decrypted webhook secret in one small read (the webhook's hot path).

        `fresh=False` may answer from this process's cache of connected stores (see
        `WEBHOOK_TARGET_TTL_S`); unknown and disconnected stores are always read.
        """
        if not fresh:
            cached = self._targets.get(store_id)
            if cached is not None and time.monotonic() - cached[0] < WEBHOOK_TARGET_TTL_S:
                return cached[1]
        read_at = time.monotonic()
        with self.db.transaction() as connection:
            row = connection.execute(_WEBHOOK_TARGET, {"store": store_id}).one_or_none()
        if row is None:
            self._targets.pop(store_id, None)
            return None
        target = WebhookTarget(
            store_id,
            row.status == "connected",
            self.vault.decrypt(row.webhook_secret_enc),
            sealed_secret=row.webhook_secret_enc,
            platform=row.platform,
        )
        if target.connected:
            self._targets[store_id] = (read_at, target)
        else:
            self._targets.pop(store_id, None)
        return target

    def update_credentials(
        self,
        store_id: int,
        *,
        base_url: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        """Replace the given credentials (others unchanged)."""
        values: dict[str, Any] = {}
        if base_url is not None:
            values["base_url"] = base_url.rstrip("/")
        if consumer_key is not None:
            values["consumer_key_enc"] = self.vault.encrypt(consumer_key)
        if consumer_secret is not None:
            values["consumer_secret_enc"] = self.vault.encrypt(consumer_secret)
        if webhook_secret is not None:
            values["webhook_secret_enc"] = self.vault.encrypt(webhook_secret)
        self._update(store_id, values)

    def update_settings(self, store_id: int, settings: StoreSettings) -> None:
        """Replace the store's core settings; other keys of the JSON (alert e-mail, e-mail
        wording) are kept, read and written in one transaction."""
        with self.db.session(write=True) as session:
            row = locked_store(session, store_id)
            if row is None:
                raise UnknownRecord(f"store {store_id} does not exist")
            row.settings = {**(row.settings or {}), **settings_to_dict(settings)}

    def update(self, store_id: int, **values: Any) -> None:
        """Set plain columns: name, status, webhook_ids, api_rate_limit, reconcile_* ..."""
        allowed = {
            "name",
            "status",
            "webhook_ids",
            "api_rate_limit",
            "reconcile_interval_seconds",
            "reconcile_checkpoint",
            "merchant_id",
        }
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)} with update()")
        if "webhook_ids" in values:
            values["webhook_ids"] = [int(i) for i in values["webhook_ids"]]
        self._update(store_id, values)

    def set_status(self, store_id: int, status: str) -> None:
        """'connected' or 'disconnected'."""
        if status not in ("connected", "disconnected"):
            raise ValueError(f"unknown store status {status!r}")
        self._update(store_id, {"status": status})

    def mark_event_received(self, store_id: int, at: dt.datetime | None = None) -> None:
        """Remember when the store last delivered an event (shown to the merchant)."""
        self._update(store_id, {"last_event_at": at or utcnow()})

    def _update(self, store_id: int, values: Mapping[str, Any]) -> None:
        if not values:
            return
        self._targets.pop(store_id, None)
        with self.db.session(write=True) as session:
            result = session.execute(update(Store).where(Store.id == store_id).values(**values))
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise UnknownRecord(f"store {store_id} does not exist")

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> int:
        """Record something the merchant must see; returns the alert id."""
        with self.db.session(write=True) as session:
            row = Alert(
                store_id=store_id,
                order_id=order_id,
                kind=kind,
                message=message,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return row.id

    def list_alerts(
        self, store_id: int, *, include_resolved: bool = False
    ) -> builtins.list[AlertRecord]:
        """Newest first."""
        query = select(Alert).where(Alert.store_id == store_id)
        if not include_resolved:
            query = query.where(Alert.resolved_at.is_(None))
        with self.db.session() as session:
            rows = session.scalars(query.order_by(Alert.id.desc()))
            return [_alert_record(row) for row in rows]

    def resolve_alert(self, alert_id: int, at: dt.datetime | None = None) -> None:
        """Mark an alert as dealt with."""
        with self.db.session(write=True) as session:
            session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.resolved_at.is_(None))
                .values(resolved_at=at or utcnow())
            )


# ---------------------------------------------------------------------------------------------
# inbox


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


def _inbox_record(row: InboxEvent) -> InboxRecord:
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


class SqlInbox:
    """`plugin.ports.Inbox` on the `inbox_events` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

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
            return _insert_ignoring_conflict(
                session, InboxEvent.__table__, values, ("store_id", "dedupe_key")
            )


class InboxRepository:
    """Reading and moving inbox events through their statuses.

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
        insert_event = _insert_statement(dialect.name, _INBOX, ("store_id", "dedupe_key"))
        self._target = DriverStatement(_WEBHOOK_TARGET, dialect)
        self._insert = DriverStatement(insert_event, dialect)
        self._touch = DriverStatement(_TOUCH_STORE, dialect)
        self._pending = DriverStatement(_PENDING_IDS, dialect)
        self._pending_before = DriverStatement(_PENDING_IDS_BEFORE, dialect)

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
    ) -> int | None:
        """`SqlInbox.add` and the store's `last_event_at` (to the minute) in one transaction
        (the webhook). With `sealed_secret` (the stored secret the signature was checked
        with), raises StoreChanged and records nothing unless the store is still connected
        with that secret."""
        at = at or utcnow()
        values = _inbox_values(store_id, topic, resource_id, modified_gmt, source, at, fingerprint)
        minute = at.replace(second=0, microsecond=0)
        touch = self._touched.get(store_id) != minute
        with self.db.driver_cursor(write=True) as cursor:
            if sealed_secret is not None:
                row = self._target.execute(cursor, {"store": store_id}).fetchone()
                if row is None or tuple(row) != ("connected", sealed_secret):
                    raise StoreChanged(f"store {store_id} changed")
            inserted = self._insert.execute(cursor, values).fetchone()
            if touch:
                self._touch.execute(cursor, {"store": store_id, "at": at, "minute": minute})
        if touch:
            self._touched[store_id] = minute
        return None if inserted is None else int(inserted[0])

    def get(self, event_id: int) -> InboxRecord | None:
        """The event, or None."""
        with self.db.session() as session:
            row = session.get(InboxEvent, event_id)
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
        with self.db.session(write=True) as session:
            session.execute(
                update(InboxEvent)
                .where(InboxEvent.id == event_id)
                .values(attempts=InboxEvent.attempts + 1)
            )

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
        with self.db.session(write=True) as session:
            table = _INBOX
            result = session.execute(
                update(table)
                .where(table.c.id == event_id, table.c.status.in_(tuple(from_statuses)))
                .values(status=to, **values)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# splits

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
        self, store_id: int, original_order_id: str, split_key: str, plan: Mapping[str, object]
    ) -> SplitRecord:
        """Insert in state PLANNED, or return the existing record for that key."""
        now = utcnow()
        values = {
            "store_id": store_id,
            "original_order_id": str(original_order_id),
            "split_key": split_key,
            "state": SplitState.PLANNED,
            "plan": _json_safe(dict(plan)),
            "create_attempted": False,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
        }
        with self.db.session(write=True) as session:
            _insert_ignoring_conflict(session, Split.__table__, values, ("store_id", "split_key"))
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

    @staticmethod
    def _row(
        session: Session, store_id: int, split_key: str, *, for_update: bool = False
    ) -> Split | None:
        query = select(Split).where(Split.store_id == store_id, Split.split_key == split_key)
        if for_update:
            query = query.with_for_update(key_share=True)  # see `locked_store`
        return session.scalars(query).one_or_none()


# ---------------------------------------------------------------------------------------------
# policies


class SqlPolicyStore:
    """`plugin.ports.PolicyStore`, plus the writes the settings pages need."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def policies_for(self, store_id: int, order: Order) -> Policies:
        """Store settings, the policies of the order's products and its customer's policy."""
        refs = {line.ref for line in order.lines}
        product_ids = sorted({ref.product_id for ref in refs})
        with self.db.session() as session:
            store = session.get(Store, store_id)
            if store is None:
                raise UnknownRecord(f"store {store_id} does not exist")
            settings = settings_from_dict(store.settings)
            rows = session.scalars(
                select(ProductPolicyRow)
                .where(
                    ProductPolicyRow.store_id == store_id,
                    ProductPolicyRow.product_id.in_(product_ids),
                )
                .order_by(ProductPolicyRow.product_id, ProductPolicyRow.variant_id)
            ).all()
            # A product-level row (variant '') applies to all its variants; a variant row only
            # to that variant. Keep rows for refs on this order and their products.
            products = tuple(
                _product_policy(row)
                for row in rows
                if row.variant_id == "" or ProductRef(row.product_id, row.variant_id) in refs
            )
            customer = None
            if order.customer.id is not None:
                row_c = session.scalars(
                    select(CustomerPolicyRow).where(
                        CustomerPolicyRow.store_id == store_id,
                        CustomerPolicyRow.customer_id == str(order.customer.id),
                    )
                ).one_or_none()
                if row_c is not None:
                    customer = _customer_policy(row_c)
        return Policies(settings=settings, products=products, customer=customer)

    def product_policies(self, store_id: int) -> list[ProductPolicy]:
        """Every product policy of a store."""
        with self.db.session() as session:
            rows = session.scalars(
                select(ProductPolicyRow)
                .where(ProductPolicyRow.store_id == store_id)
                .order_by(ProductPolicyRow.product_id, ProductPolicyRow.variant_id)
            )
            return [_product_policy(row) for row in rows]

    def customer_policies(self, store_id: int) -> list[CustomerPolicy]:
        """Every customer policy of a store."""
        with self.db.session() as session:
            rows = session.scalars(
                select(CustomerPolicyRow)
                .where(CustomerPolicyRow.store_id == store_id)
                .order_by(CustomerPolicyRow.customer_id)
            )
            return [_customer_policy(row) for row in rows]

    def set_product_policy(self, store_id: int, policy: ProductPolicy) -> None:
        """Insert or replace the policy of one product or variant."""
        values = {
            "store_id": store_id,
            "product_id": policy.ref.product_id,
            "variant_id": policy.ref.variant_id or "",
            "allow_backorder": policy.allow_backorder,
            "cap": policy.cap,
            "expected_date": policy.expected_date,
            "message": policy.message,
        }
        with self.db.session(write=True) as session:
            _upsert(
                session,
                ProductPolicyRow.__table__,
                values,
                ("store_id", "product_id", "variant_id"),
            )

    def set_customer_policy(self, store_id: int, policy: CustomerPolicy) -> None:
        """Insert or replace one customer's policy."""
        values = {
            "store_id": store_id,
            "customer_id": policy.customer_id,
            "delivery_condition": (
                str(policy.delivery_condition) if policy.delivery_condition else None
            ),
            "priority": policy.priority,
        }
        with self.db.session(write=True) as session:
            _upsert(session, CustomerPolicyRow.__table__, values, ("store_id", "customer_id"))


def _product_policy(row: ProductPolicyRow) -> ProductPolicy:
    return ProductPolicy(
        ref=ProductRef(row.product_id, row.variant_id or None),
        allow_backorder=row.allow_backorder,
        cap=row.cap,
        expected_date=row.expected_date,
        message=row.message,
    )


def _customer_policy(row: CustomerPolicyRow) -> CustomerPolicy:
    return CustomerPolicy(
        customer_id=row.customer_id,
        delivery_condition=(
            DeliveryCondition(row.delivery_condition) if row.delivery_condition else None
        ),
        priority=row.priority,
    )


# ---------------------------------------------------------------------------------------------
# audit

AUDIT_KINDS = ("decision", "call", "retry", "error", "info")


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
        with self.db.session(write=True) as session:
            session.add(
                AuditEntry(
                    store_id=store_id,
                    order_id=str(order_id),
                    at=utcnow(),
                    kind=kind,
                    message=message,
                    data=_json_safe(data),
                )
            )

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
