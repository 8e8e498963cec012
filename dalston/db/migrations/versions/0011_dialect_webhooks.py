"""dialect webhooks: webhook_deliveries.target, the dialect's own receiver id

ElevenLabs ``webhook=true`` deliveries are stored rows like the native ones; a
row names the ElevenLabs webhook it goes to (``target``), not a native endpoint.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("target", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_webhook_deliveries_created_at", ["created_at"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_created_at")
        batch_op.drop_column("target")
