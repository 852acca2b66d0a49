"""Merchants' session version (sign-out and password change end every copy of the cookie).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot ALTER a column in place; a server default fills old rows.
    with op.batch_alter_table("merchants") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:
        batch.drop_column("session_version")
