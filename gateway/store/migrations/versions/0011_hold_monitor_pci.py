"""calls.hold_count/hold_seconds, monitors, recording_pauses (hold, monitoring, PCI pause)

Revision ID: 0011
Revises: 0010
Created: 2026-12-01

Plain ADD COLUMNs (no table rewrite on either backend). `monitors` lists the supervisor
monitoring sessions of a call (who, modes, times); `recording_pauses` the PCI-paused
spans of its recording, in seconds from the recording's start (docs/in-call.md).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("hold_count", sa.Integer()),
    ("hold_seconds", sa.Double()),
    ("monitors", JSON),
    ("recording_pauses", JSON),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("calls", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
