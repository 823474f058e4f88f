"""calls.wrapups: every agent's wrap-up of a call (a transfer's target posts its own)

Revision ID: 0012
Revises: 0011
Created: 2026-12-02

A plain ADD COLUMN (no table rewrite on either backend): a JSON list of
`{agent, code, notes, at}`, one per agent that posted a wrap-up for the call, in the order
they did (gateway/store/wrapup.py). The first agent's also stays in `wrapup_code`/
`wrapup_notes`/`wrapup_by`/`wrapup_at` (migration 0008). Null until a wrap-up is posted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("calls", sa.Column("wrapups", JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        batch.drop_column("wrapups")
