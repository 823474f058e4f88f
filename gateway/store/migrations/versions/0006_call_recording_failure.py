"""calls.recording_failure: why a call's recording could not be finished

Revision ID: 0006
Revises: 0005
Created: 2026-12-01

Null when the recording was finished (or the call was not recorded); else one of
disk_full, io_error, bad_format, missing, encoding (recordings/finish.py). A plain
ADD COLUMN: no table rewrite on either backend.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("recording_failure", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:  # SQLite: DROP COLUMN through a copy
        batch.drop_column("recording_failure")
