"""initial schema

Revision ID: 0001
Revises: (none)
Created: 2026-11-22 15:59:25.018556
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# JSONB on PostgreSQL, JSON text elsewhere (gateway.store.types.JSONType)
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_state_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_state_log")),
    )
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.create_index("ix_agent_state_log_agent_at", ["agent", "at"], unique=False)

    op.create_table(
        "calls",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sip_call_id", sa.String(length=255), nullable=False),
        sa.Column("trunk", sa.String(length=64), nullable=True),
        sa.Column("did", sa.String(length=64), nullable=True),
        sa.Column("caller", sa.String(length=255), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("worker", sa.String(length=64), nullable=True),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("offered_at", sa.DateTime(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column("hangup_by", sa.String(length=16), nullable=True),
        sa.Column("caller_sip_code", sa.Integer(), nullable=True),
        sa.Column("agent_sip_code", sa.Integer(), nullable=True),
        sa.Column("recording_stereo", sa.Text(), nullable=True),
        sa.Column("recording_caller", sa.Text(), nullable=True),
        sa.Column("recording_agent", sa.Text(), nullable=True),
        sa.Column("rtp_quality", JSON, nullable=True),
        sa.Column("wait_seconds", sa.Double(), nullable=True),
        sa.Column("talk_seconds", sa.Double(), nullable=True),
        sa.CheckConstraint(
            "disposition IS NULL OR disposition IN ('answered', 'abandoned', 'abandoned_ringing', 'overflow', 'closed', 'unknown_did', 'voicemail', 'failed')",
            name=op.f("ck_calls_disposition"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calls_agent"), ["agent"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_arrived_at"), ["arrived_at"], unique=False)
        batch_op.create_index("ix_calls_queue_arrived", ["queue", "arrived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_sip_call_id"), ["sip_call_id"], unique=False)

    op.create_table(
        "config_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("diff", JSON, nullable=False),
        sa.Column("snapshot", JSON, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_config_versions")),
    )
    with op.batch_alter_table("config_versions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_config_versions_content_hash"), ["content_hash"], unique=False
        )

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
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_pending", ["published_at", "created_at"], unique=False)

    op.create_table(
        "routing_globals",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_routing_globals")),
    )
    op.create_table(
        "agents",
        sa.Column("sip_user", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"], ["config_versions.version"], name=op.f("fk_agents_version_config_versions")
        ),
        sa.PrimaryKeyConstraint("sip_user", name=op.f("pk_agents")),
    )
    op.create_table(
        "call_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("offered_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("sip_code", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('answered', 'no_answer', 'rejected', 'cancelled', 'failed')",
            name=op.f("ck_call_offers_result"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_call_offers_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_offers")),
    )
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_offers_agent"), ["agent"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_offers_call_id"), ["call_id"], unique=False)

    op.create_table(
        "queues",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version"], ["config_versions.version"], name=op.f("fk_queues_version_config_versions")
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_queues")),
    )
    op.create_table(
        "agent_queues",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent"],
            ["agents.sip_user"],
            name=op.f("fk_agent_queues_agent_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue"],
            ["queues.name"],
            name=op.f("fk_agent_queues_queue_queues"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent", "queue", name=op.f("pk_agent_queues")),
    )
    with op.batch_alter_table("agent_queues", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agent_queues_queue"), ["queue"], unique=False)

    op.create_table(
        "agent_skills",
        sa.Column("agent", sa.String(length=64), nullable=False),
        sa.Column("skill", sa.String(length=64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent"],
            ["agents.sip_user"],
            name=op.f("fk_agent_skills_agent_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent", "skill", name=op.f("pk_agent_skills")),
    )
    op.create_table(
        "dids",
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.ForeignKeyConstraint(["queue"], ["queues.name"], name=op.f("fk_dids_queue_queues")),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_dids")),
    )
    with op.batch_alter_table("dids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dids_queue"), ["queue"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dids_queue"))

    op.drop_table("dids")
    op.drop_table("agent_skills")
    with op.batch_alter_table("agent_queues", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agent_queues_queue"))

    op.drop_table("agent_queues")
    op.drop_table("queues")
    with op.batch_alter_table("call_offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_offers_call_id"))
        batch_op.drop_index(batch_op.f("ix_call_offers_agent"))

    op.drop_table("call_offers")
    op.drop_table("agents")
    op.drop_table("routing_globals")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_pending")

    op.drop_table("outbox")
    with op.batch_alter_table("config_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_config_versions_content_hash"))

    op.drop_table("config_versions")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_sip_call_id"))
        batch_op.drop_index("ix_calls_queue_arrived")
        batch_op.drop_index(batch_op.f("ix_calls_arrived_at"))
        batch_op.drop_index(batch_op.f("ix_calls_agent"))

    op.drop_table("calls")
    with op.batch_alter_table("agent_state_log", schema=None) as batch_op:
        batch_op.drop_index("ix_agent_state_log_agent_at")

    op.drop_table("agent_state_log")
