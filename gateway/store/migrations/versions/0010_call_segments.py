"""calls.segments: the agent connections of a transferred call (issue 11, docs/transfer.md)

Revision ID: 0010
Revises: 0009
Created: 2026-12-01

A plain ADD COLUMN (no table rewrite on either backend). Null for a call that never
changed agent; otherwise one entry per segment: index, initial_call_id,
previous_segment, agent, started_at, transfer_id and that segment's recordings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("calls", sa.Column("segments", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        batch.drop_column("segments")
