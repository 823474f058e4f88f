"""calls.voicemail_*: a voicemail message's box and its new -> listened -> handled state

Revision ID: 0007
Revises: 0006
Created: 2026-12-01

Plain ADD COLUMNs (no table rewrite on either backend) and one index for the box list.
`voicemail_box` is null for a call that left no message; `voicemail_state` null is `new`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("voicemail_box", sa.String(length=64)),
    ("voicemail_state", sa.String(length=16)),
    ("voicemail_listened_by", sa.String(length=64)),
    ("voicemail_listened_at", sa.DateTime()),
    ("voicemail_handled_by", sa.String(length=64)),
    ("voicemail_handled_at", sa.DateTime()),
    ("voicemail_note", sa.Text()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("calls", sa.Column(name, type_, nullable=True))
    op.create_index("ix_calls_voicemail_box_arrived", "calls", ["voicemail_box", "arrived_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_voicemail_box_arrived", table_name="calls")
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
