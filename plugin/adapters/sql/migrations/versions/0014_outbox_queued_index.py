"""An index for the mail sweep's look at the oldest queued messages (issue 17, "an e-mail is
never lost when Redis is away").

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 23:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_status_created_at", ["status", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_status_created_at")
