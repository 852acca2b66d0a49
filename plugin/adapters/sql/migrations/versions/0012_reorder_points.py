"""Reorder points (issue 14): the stock a merchant keeps of a product besides what backorders
wait for, and the quantity the purchase proposal orders it back up to.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 16:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reorder_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.String(length=64), nullable=False),
        sa.Column("variant_id", sa.String(length=64), nullable=False),
        sa.Column("reorder_point", sa.Integer(), nullable=False),
        sa.Column("order_up_to", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["stores.id"],
            name=op.f("fk_reorder_points_store_id_stores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reorder_points")),
        sa.UniqueConstraint(
            "store_id",
            "product_id",
            "variant_id",
            name=op.f("uq_reorder_points_store_id_product_id_variant_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("reorder_points")
