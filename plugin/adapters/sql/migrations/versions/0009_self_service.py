"""Customers' self-service page and delay notices (issue 15).

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-04 03:15:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _store_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["store_id"], ["stores.id"], name=op.f(f"fk_{table}_store_id_stores"), ondelete="CASCADE"
    )


def _when(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "customer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("order_number", sa.String(length=64), nullable=False),
        sa.Column("email_digest", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _store_fk("customer_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_links")),
        sa.UniqueConstraint(
            "store_id", "order_id", name=op.f("uq_customer_links_store_id_order_id")
        ),
    )
    op.create_index(
        "ix_customer_links_store_id_order_number",
        "customer_links",
        ["store_id", "order_number"],
        unique=False,
    )
    op.create_table(
        "self_service_settings",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("allow_cancel", sa.Boolean(), nullable=False),
        sa.Column("allow_delivery", sa.Boolean(), nullable=False),
        sa.Column("delay_rule", sa.String(length=16), nullable=False),
        sa.Column("stated_shipping_days", sa.Integer(), nullable=True),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("date_format", sa.String(length=16), nullable=False),
        sa.Column("decimal_comma", sa.Boolean(), nullable=False),
        _when("updated_at"),
        _store_fk("self_service_settings"),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_self_service_settings")),
    )
    op.create_table(
        "customer_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _store_fk("customer_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_requests")),
        sa.UniqueConstraint(
            "store_id", "request_key", name=op.f("uq_customer_requests_store_id_request_key")
        ),
    )
    op.create_index(
        "ix_customer_requests_store_id_order_id",
        "customer_requests",
        ["store_id", "order_id"],
        unique=False,
    )
    op.create_table(
        "delay_watches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("original_order_id", sa.String(length=64), nullable=False),
        _when("ordered_at"),
        sa.Column("promised_date", sa.Date(), nullable=True),
        sa.Column("notices", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        _when("cancelled_at", nullable=True),
        _when("wake_at", nullable=True),
        _when("created_at"),
        _store_fk("delay_watches"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delay_watches")),
        sa.UniqueConstraint(
            "store_id", "order_id", name=op.f("uq_delay_watches_store_id_order_id")
        ),
    )
    op.create_table(
        "delay_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("action_key", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _when("created_at"),
        _store_fk("delay_actions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delay_actions")),
        sa.UniqueConstraint(
            "store_id", "action_key", name=op.f("uq_delay_actions_store_id_action_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("delay_actions")
    op.drop_table("delay_watches")
    op.drop_index("ix_customer_requests_store_id_order_id", table_name="customer_requests")
    op.drop_table("customer_requests")
    op.drop_table("self_service_settings")
    op.drop_index("ix_customer_links_store_id_order_number", table_name="customer_links")
    op.drop_table("customer_links")
