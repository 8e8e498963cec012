"""session liveness: realtime_sessions.seen_at and retention_days

``seen_at``: when the process holding the stream last said it still does, so a
record left "active" by a process that died can be ended. ``retention_days``: the
stream's retention, so such a record is kept or purged as the client asked.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dalston.db.models

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("realtime_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "seen_at", dalston.db.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("realtime_sessions", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("seen_at")
