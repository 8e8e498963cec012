"""durable retry delays: tasks.not_before

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dalston.db.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "not_before",
                dalston.db.models.UTCDateTime(timezone=True),
                nullable=True,
            )
        )
        batch_op.create_index(
            batch_op.f("ix_tasks_not_before"), ["not_before"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tasks_not_before"))
        batch_op.drop_column("not_before")
