"""calls.wrapup_*: the agent's wrap-up code and notes for a call, and the caller's name

Revision ID: 0008
Revises: 0007
Created: 2026-12-01

Plain ADD COLUMNs (no table rewrite on either backend). `wrapup_code` is one of the
queue's `wrapup_codes` (checked by the API, not the database: codes change with the
routing); `wrapup_by`/`wrapup_at` say which agent set it and when. `caller_name` is the
From display name, for the agent desktop's screen-pop. All null until set.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("caller_name", sa.String(length=255)),
    ("wrapup_code", sa.String(length=64)),
    ("wrapup_notes", sa.Text()),
    ("wrapup_by", sa.String(length=64)),
    ("wrapup_at", sa.DateTime()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("calls", sa.Column(name, type_, nullable=True))
    # the screen-pop's history: a caller's last calls
    op.create_index("ix_calls_caller_arrived", "calls", ["caller", "arrived_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_caller_arrived", table_name="calls")
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
