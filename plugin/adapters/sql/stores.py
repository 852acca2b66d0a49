"""Stores (their credentials sealed by the vault, their settings as JSON) and their alerts: the
`stores` and `alerts` tables.

Every method is its own unit of work (opens, commits and closes a session) so that callers in
the web process and in workers never hold a SQLite write lock across a platform call."""

from __future__ import annotations

import builtins
import datetime as dt
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from plugin.adapters.sql.db import Database
from plugin.adapters.sql.models import (
    Alert,
    Store,
    utcnow,
)
from plugin.adapters.sql.statements import (
    UnknownRecord,
)
from plugin.adapters.vault import Vault
from plugin.core.model import (
    DEFAULT_ELIGIBLE_STATUSES,
    DeliveryCondition,
    OversoldAction,
    Status,
    StoreSettings,
)
from plugin.errors import PermanentError

# The stores table as a Core table for the hot paths: plain statements skip the ORM's
# per-statement bookkeeping.
_STORES = cast(Table, Store.__table__)
WEBHOOK_TARGET = select(_STORES.c.status, _STORES.c.webhook_secret_enc, _STORES.c.platform).where(
    _STORES.c.id == bindparam("store")
)
# `last_event_at` is shown to the minute (stores page): written by the first event of each
# minute, so a busy store's webhooks do not all rewrite its row (a page write per commit).
TOUCH_STORE = (
    update(_STORES)
    .where(
        _STORES.c.id == bindparam("store"),
        or_(_STORES.c.last_event_at.is_(None), _STORES.c.last_event_at < bindparam("minute")),
    )
    .values(last_event_at=bindparam("at"))
)


# Extra key of `stores.settings` (ignored by the core): the driver's split mode, e.g. Shopify's
# "linked" (plugin.ports.PlatformDriver.split_modes).
SPLIT_MODE_KEY = "split_mode"


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
    split_mode: str = ""  # the platform's way of writing a split ('' = its default)

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


# Every job reads its store, and the store's credentials to reach it: Core reads, built once.
_STORE_BY_ID = select(_STORES).where(_STORES.c.id == bindparam("store"))


def _store_record(row: Store | Row[Any]) -> StoreRecord:
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
        split_mode=str((row.settings or {}).get(SPLIT_MODE_KEY) or ""),
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
        with self.db.transaction() as connection:
            row = connection.execute(_STORE_BY_ID, {"store": store_id}).one_or_none()
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
        with self.db.transaction() as connection:
            row = connection.execute(_STORE_BY_ID, {"store": store_id}).one_or_none()
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
            row = connection.execute(WEBHOOK_TARGET, {"store": store_id}).one_or_none()
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


class OpenAlerts:
    """`plugin.ports.Alerts` that does not repeat an alert the merchant has not dealt with yet
    (an order re-planned on each edit would otherwise raise the same alert every time)."""

    def __init__(self, stores: StoreRepository) -> None:
        self.stores = stores

    def add_alert(
        self, store_id: int, kind: str, message: str, *, order_id: str | None = None
    ) -> int | None:
        for alert in self.stores.list_alerts(store_id):
            if (alert.kind, alert.order_id, alert.message) == (kind, order_id, message):
                return None
        return self.stores.add_alert(store_id, kind, message, order_id=order_id)
