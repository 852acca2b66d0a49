"""Cancelling some units of a backorder line (issue 15): `cancellations.units`.

NULL keeps today's meaning (the whole line); a number is how many units to cancel.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cancellations") as batch:
        batch.add_column(sa.Column("units", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cancellations") as batch:
        batch.drop_column("units")
