"""Merchants' e-mail verification; outbox messages that belong to no store (account e-mail).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER a column in place.
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    # Accounts from before verification existed keep working: they count as verified.
    op.execute("UPDATE merchants SET email_verified_at = created_at")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM outbox_messages WHERE store_id IS NULL")
    with op.batch_alter_table("outbox_messages") as batch:
        batch.alter_column("store_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("email_verified_at")
