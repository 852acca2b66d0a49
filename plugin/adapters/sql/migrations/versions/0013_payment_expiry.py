"""When a split's card authorisation lapses, and when the merchant was warned (issue 16,
"Authorisations expire").

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("splits", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("payment_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("expiry_warned_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_splits_payment_expires_at", ["payment_expires_at"])


def downgrade() -> None:
    with op.batch_alter_table("splits", schema=None) as batch_op:
        batch_op.drop_index("ix_splits_payment_expires_at")
        batch_op.drop_column("expiry_warned_at")
        batch_op.drop_column("payment_expires_at")
