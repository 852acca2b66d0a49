"""SQLAlchemy tables. Column types are portable between SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can refer to them on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC (storage is an adapter: it may read the clock)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Store(Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merchant_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(32), default="woocommerce")
    base_url: Mapped[str] = mapped_column(String(500))
    consumer_key_enc: Mapped[str] = mapped_column(Text)
    consumer_secret_enc: Mapped[str] = mapped_column(Text)
    webhook_secret_enc: Mapped[str] = mapped_column(Text)
    webhook_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    api_rate_limit: Mapped[float] = mapped_column(Float, default=5.0)
    reconcile_interval_seconds: Mapped[int] = mapped_column(Integer, default=300)
    reconcile_checkpoint: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_event_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="connected")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class InboxEvent(Base):
    __tablename__ = "inbox_events"
    __table_args__ = (
        UniqueConstraint("store_id", "dedupe_key"),
        Index("ix_inbox_events_status_received_at", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    modified_gmt: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The products an order delivery named (`product[:variation]` ids, space separated), read
    # by the job with the order; NULL when the delivery named none.
    products: Mapped[str | None] = mapped_column(Text, nullable=True)


class Split(Base):
    __tablename__ = "splits"
    __table_args__ = (
        UniqueConstraint("store_id", "split_key"),
        Index("ix_splits_store_id_original_order_id", "store_id", "original_order_id"),
        Index("ix_splits_store_id_backorder_order_id", "store_id", "backorder_order_id"),
        Index("ix_splits_payment_expires_at", "payment_expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    original_order_id: Mapped[str] = mapped_column(String(64))
    split_key: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(32))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    backorder_order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    create_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Issue 16: when the order's card authorisation lapses (recorded at split time), and when
    # the merchant was warned of it (once).
    payment_expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    expiry_warned_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_store_id_order_id", "store_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_store_id_resolved_at", "store_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ProductPolicyRow(Base):
    __tablename__ = "product_policies"
    # variant_id is '' (not NULL) for a whole product, so the unique constraint also holds
    # for products without variants (NULLs never collide in a unique constraint).
    __table_args__ = (UniqueConstraint("store_id", "product_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64), default="")
    allow_backorder: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    cap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    expected_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")


class CustomerPolicyRow(Base):
    __tablename__ = "customer_policies"
    __table_args__ = (UniqueConstraint("store_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    customer_id: Mapped[str] = mapped_column(String(64))
    delivery_condition: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)


class Merchant(Base):
    """A merchant account signing in to the web pages; owns stores via `stores.merchant_id`."""

    __tablename__ = "merchants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    # Bumped on sign-out and password change: a session cookie carrying an older version (e.g.
    # one copied before sign-out) is refused, although Flask's signed cookie is still valid.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # When the merchant opened the link sent to the address; None until then (revision 0007).
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Release(Base):
    """One release of a backorder order (issue 6), keyed by a deterministic release key so a
    second allocation job or a retry never releases the same order twice."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("store_id", "release_key"),
        Index("ix_releases_store_id_order_id", "store_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    release_key: Mapped[str] = mapped_column(String(128))
    order_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(32))  # planned | status_set | done
    target_status: Mapped[str] = mapped_column(String(32))  # processing | pending
    lines: Mapped[list[Any]] = mapped_column(JSON)  # [{line_id, product_id, variant_id, units}]
    payment_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ReleaseBump(Base):
    """A merchant's "move up" of one backorder order: added to its customer's priority."""

    __tablename__ = "release_bumps"
    __table_args__ = (UniqueConstraint("store_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))
    bump: Mapped[int] = mapped_column(Integer, default=0)


class OutboxMessage(Base):
    """One e-mail: queued for SMTP, sent, or captured (development without SMTP_URL)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("store_id", "message_key"),
        Index("ix_outbox_messages_store_id_created_at", "store_id", "created_at"),
        Index("ix_outbox_messages_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None: an account e-mail (sign-up), not a store's (revision 0007).
    store_id: Mapped[int | None] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), nullable=True
    )
    message_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # [{filename, content_type, text}]: e.g. a purchase order's CSV (revision 0008).
    attachments: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Cancellation(Base):
    """A merchant's cancellation of one backorder line (web/cancellations.py), keyed by the
    backorder order and the original's line id so a second click or a retry cancels it once."""

    __tablename__ = "cancellations"
    __table_args__ = (
        UniqueConstraint("store_id", "cancel_key"),
        Index("ix_cancellations_store_id_backorder_order_id", "store_id", "backorder_order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    cancel_key: Mapped[str] = mapped_column(String(200))
    backorder_order_id: Mapped[str] = mapped_column(String(64))
    original_order_id: Mapped[str] = mapped_column(String(64))
    line_id: Mapped[str] = mapped_column(String(64))  # the original's line id (plan line)
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    # Units to cancel (some of the line's; migration 0010); NULL: the whole line.
    units: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(320))  # the merchant's e-mail
    state: Mapped[str] = mapped_column(String(32))  # requested | written | noted | done
    write_attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# --- purchasing (issue 14; plugin/adapters/sql/purchasing.py) ------------------------------------
# Money is stored as the Decimal's text (exact on every database); variant_id is '' for a whole
# product, as in product_policies.


class SupplierRow(Base):
    __tablename__ = "suppliers"
    __table_args__ = (UniqueConstraint("store_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), default="")
    currency: Mapped[str] = mapped_column(String(3))
    lead_time_days: Mapped[int] = mapped_column(Integer, default=0)
    minimum_order_value: Mapped[str] = mapped_column(String(40), default="0")
    exchange_rate: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class SupplierProductRow(Base):
    __tablename__ = "supplier_products"
    __table_args__ = (UniqueConstraint("store_id", "supplier_id", "product_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64), default="")
    supplier_sku: Mapped[str] = mapped_column(String(100), default="")
    unit_cost: Mapped[str] = mapped_column(String(40))
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    minimum_quantity: Mapped[int] = mapped_column(Integer, default=0)
    preferred: Mapped[bool] = mapped_column(Boolean, default=False)


class ReorderPointRow(Base):
    __tablename__ = "reorder_points"
    __table_args__ = (UniqueConstraint("store_id", "product_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64), default="")
    reorder_point: Mapped[int] = mapped_column(Integer)
    order_up_to: Mapped[int] = mapped_column(Integer, default=0)  # 0: the reorder point


class PurchaseOrderRow(Base):
    __tablename__ = "purchase_orders"
    __table_args__ = (UniqueConstraint("store_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    number: Mapped[str] = mapped_column(String(64))
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32))
    expected_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class PurchaseOrderLineRow(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (UniqueConstraint("purchase_order_id", "product_id", "variant_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(
        ForeignKey("purchase_orders.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str] = mapped_column(String(64))
    variant_id: Mapped[str] = mapped_column(String(64), default="")
    supplier_sku: Mapped[str] = mapped_column(String(100), default="")
    quantity: Mapped[int] = mapped_column(Integer)
    unit_cost: Mapped[str] = mapped_column(String(40))
    received: Mapped[int] = mapped_column(Integer, default=0)
    drop_ship: Mapped[bool] = mapped_column(Boolean, default=False)


class PurchaseReservationRow(Base):
    """Units of a purchase order line reserved for one backorder order; `position` is the
    allocation order of the line's reservations."""

    __tablename__ = "purchase_reservations"
    __table_args__ = (
        UniqueConstraint("line_id", "order_id"),
        Index("ix_purchase_reservations_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_lines.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    order_id: Mapped[str] = mapped_column(String(64))
    units: Mapped[int] = mapped_column(Integer)


class PurchaseReceiptRow(Base):
    """One receipt of a purchase order, carried out by recorded steps (plugin/steps.py): the
    stock figures read and the targets written, so a retry never raises stock twice."""

    __tablename__ = "purchase_receipts"
    __table_args__ = (UniqueConstraint("store_id", "receipt_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    receipt_key: Mapped[str] = mapped_column(String(128))
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"))
    number: Mapped[str] = mapped_column(String(64))  # the purchase order's
    state: Mapped[str] = mapped_column(String(32))
    lines: Mapped[list[Any]] = mapped_column(JSON)  # [{product_id, variant_id, units}]
    stock: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per figure: base, target
    released: Mapped[list[Any]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


# --- customers' self-service and delay notices (issue 15, revision 0009) ----------------------


class CustomerLink(Base):
    """The customer's link to one order's page: bound to the order and its customer's e-mail
    (a digest); `version` is in every token, so raising it revokes every link sent before."""

    __tablename__ = "customer_links"
    __table_args__ = (
        UniqueConstraint("store_id", "order_id"),
        Index("ix_customer_links_store_id_order_number", "store_id", "order_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))  # the order the customer placed
    order_number: Mapped[str] = mapped_column(String(64))
    email_digest: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class SelfServiceSettings(Base):
    """Per store: which actions customers may take on their page, how dates and money are
    shown there, and the delay notice rule (plugin/core/delays.py)."""

    __tablename__ = "self_service_settings"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    allow_cancel: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_delivery: Mapped[bool] = mapped_column(Boolean, default=True)
    delay_rule: Mapped[str] = mapped_column(String(16), default="off")
    stated_shipping_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answer_days: Mapped[int] = mapped_column(Integer, default=14)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    date_format: Mapped[str] = mapped_column(String(16), default="iso")
    decimal_comma: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class CustomerRequest(Base):
    """One action a customer took on their page, carried out once by a worker job."""

    __tablename__ = "customer_requests"
    __table_args__ = (
        UniqueConstraint("store_id", "request_key"),
        Index("ix_customer_requests_store_id_order_id", "store_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    request_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # cancel | delivery | delay_answer
    order_id: Mapped[str] = mapped_column(String(64))  # the order the customer placed
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class DelayWatch(Base):
    """A backorder order followed for delay notices: the date promised when it was split, the
    notices sent, the customer's answers and whether its waiting lines were cancelled."""

    __tablename__ = "delay_watches"
    __table_args__ = (UniqueConstraint("store_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(64))  # the backorder order
    original_order_id: Mapped[str] = mapped_column(String(64))
    ordered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    promised_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    notices: Mapped[list[Any]] = mapped_column(JSON, default=list)
    answers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    wake_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)


class DelayAction(Base):
    """Every delay action carried out (notice, cancellation, merchant told), unique by its key."""

    __tablename__ = "delay_actions"
    __table_args__ = (UniqueConstraint("store_id", "action_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    action_key: Mapped[str] = mapped_column(String(200))
    order_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=utcnow)
