"""Purchasing (issue 14): suppliers, product links, purchase orders and their lines, the units
each line reserves for backorder orders, receipts; attachments on outbox messages.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _store_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["store_id"], ["stores.id"], name=op.f(f"fk_{table}_store_id_stores"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("attachments", sa.JSON(), nullable=True))
    op.create_table(
        "suppliers",
        _id(),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
        sa.Column("minimum_order_value", sa.String(length=40), nullable=False),
        sa.Column("exchange_rate", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _store_fk("suppliers"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppliers")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_suppliers_store_id_name")),
    )
    op.create_table(
        "supplier_products",
        _id(),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("supplier_sku", sa.String(length=100), nullable=False),
        sa.Column("unit_cost", sa.String(length=40), nullable=False),
        sa.Column("pack_size", sa.Integer(), nullable=False),
        sa.Column("minimum_quantity", sa.Integer(), nullable=False),
        sa.Column("preferred", sa.Boolean(), nullable=False),
        _store_fk("supplier_products"),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_supplier_products_supplier_id_suppliers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_products")),
        sa.UniqueConstraint(
            "store_id",
            "supplier_id",
            "product_id",
            "variant_id",
            name=op.f("uq_supplier_products_store_id_supplier_id_product_id_variant_id"),
        ),
    )
    op.create_table(
        "purchase_orders",
        _id(),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("expected_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _store_fk("purchase_orders"),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name=op.f("fk_purchase_orders_supplier_id_suppliers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
        sa.UniqueConstraint("store_id", "number", name=op.f("uq_purchase_orders_store_id_number")),
    )
    op.create_table(
        "purchase_order_lines",
        _id(),
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("supplier_sku", sa.String(length=100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_cost", sa.String(length=40), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("drop_ship", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_purchase_order_id_purchase_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_lines")),
        sa.UniqueConstraint(
            "purchase_order_id",
            "product_id",
            "variant_id",
            name=op.f("uq_purchase_order_lines_purchase_order_id_product_id_variant_id"),
        ),
    )
    op.create_table(
        "purchase_reservations",
        _id(),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_purchase_reservations_line_id_purchase_order_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_reservations")),
        sa.UniqueConstraint(
            "line_id", "order_id", name=op.f("uq_purchase_reservations_line_id_order_id")
        ),
    )
    op.create_index(
        "ix_purchase_reservations_order_id", "purchase_reservations", ["order_id"], unique=False
    )
    op.create_table(
        "purchase_receipts",
        _id(),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("receipt_key", sa.String(length=128), nullable=False),
        sa.Column("purchase_order_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("stock", sa.JSON(), nullable=False),
        sa.Column("released", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _store_fk("purchase_receipts"),
        sa.ForeignKeyConstraint(
            ["purchase_order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_receipts_purchase_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_receipts")),
        sa.UniqueConstraint(
            "store_id", "receipt_key", name=op.f("uq_purchase_receipts_store_id_receipt_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("purchase_receipts")
    op.drop_index("ix_purchase_reservations_order_id", table_name="purchase_reservations")
    op.drop_table("purchase_reservations")
    op.drop_table("purchase_order_lines")
    op.drop_table("purchase_orders")
    op.drop_table("supplier_products")
    op.drop_table("suppliers")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("attachments")
