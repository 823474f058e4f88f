"""callbacks: queued callbacks that keep the caller's place; calls.initiation/callback_of

Revision ID: 0009
Revises: 0008
Created: 2026-12-01

A new table (one row per original call: `call_id` is unique, so a callback is never
stored twice), two plain ADD COLUMNs on `calls` for the outbound call record, and the
disposition check gains `callback` (a CHECK cannot be altered in place on SQLite: the
batch rebuilds `calls`, once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_OLD = ("answered", "abandoned", "abandoned_ringing", "overflow", "closed", "unknown_did",
        "voicemail", "failed")  # fmt: skip
_NEW = (*_OLD, "callback")
_STATES = ("pending", "dialing", "completed", "failed", "cancelled")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IS NULL OR {column} IN ({', '.join(repr(v) for v in values)})"


def _disposition_check(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_constraint(op.f("ck_calls_disposition"), type_="check")
        batch.create_check_constraint(op.f("ck_calls_disposition"), _one_of("disposition", values))


def upgrade() -> None:
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("did", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_result", sa.String(length=64), nullable=True),
        sa.Column("outbound_call_id", sa.Uuid(), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint(_one_of("state", _STATES), name=op.f("ck_callbacks_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callbacks")),
        sa.UniqueConstraint("call_id", name=op.f("uq_callbacks_call_id")),
    )
    op.create_index("ix_callbacks_state_arrived", "callbacks", ["state", "arrived_at"])
    op.add_column("calls", sa.Column("initiation", sa.String(length=16), nullable=True))
    op.add_column("calls", sa.Column("callback_of", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_calls_callback_of"), "calls", ["callback_of"])
    _disposition_check(_NEW)


def downgrade() -> None:
    _disposition_check(_OLD)
    op.drop_index(op.f("ix_calls_callback_of"), table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("callback_of")
        batch.drop_column("initiation")
    op.drop_index("ix_callbacks_state_arrived", table_name="callbacks")
    op.drop_table("callbacks")
