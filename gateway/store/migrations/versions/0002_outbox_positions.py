"""outbox: a global position (publish order, replay cursor), per-subject sequence, queue

Revision ID: 0002
Revises: 0001
Created: 2026-12-01

The table is dropped and created again rather than altered: nothing published from
it yet (no publisher existed before this revision), so it holds no rows worth keeping,
and a new INTEGER primary key cannot be added in place on SQLite anyway. The same
statements work on PostgreSQL (``position`` becomes an identity/serial column).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL, JSON text elsewhere (gateway.store.types.JSONType)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("position", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox")),
        sa.UniqueConstraint("id", name=op.f("uq_outbox_id")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "position"], unique=False)
    op.create_index("ix_outbox_subject", "outbox", ["subject", "sequence"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_subject", table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["published_at", "created_at"], unique=False)
