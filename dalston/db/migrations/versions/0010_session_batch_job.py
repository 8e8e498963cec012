"""hybrid sessions: realtime_sessions.batch_job_id, the job made from a session

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("realtime_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("batch_job_id", sa.String(length=36), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("realtime_sessions", schema=None) as batch_op:
        batch_op.drop_column("batch_job_id")
