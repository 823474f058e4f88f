"""routing keeps its order on PostgreSQL (JSON text, explicit positions); 64-bit cursors

Revision ID: 0004
Revises: 0003
Created: 2026-12-01

JSONB sorts an object's keys (by length, then bytes), so on PostgreSQL a version's
snapshot came back with its queues, agents and skills reordered, and a rollback built
from it reordered the configuration. The routing columns become ``JSON`` (text, kept as
written) on PostgreSQL; SQLite's JSON already is text. Rows carry their order too:
``queues.position``, ``agents.position`` and ``agent_skills.position`` (DIDs and
agent-queue memberships had one already), filled here from the current version's
snapshot: on SQLite that is the order the admin wrote; on PostgreSQL the order JSONB
left (lost before this revision, not recoverable).

The paging cursors ``outbox.position`` (at 100 events/s, 2^31 is eight months away) and
``audit_log.id`` become BIGINT on PostgreSQL, their sequences too (a SERIAL's sequence is
``AS integer``: it would stop at 2^31 - 1 whatever the column), so a client's cursor
means the same on both backends. SQLite's INTEGER PRIMARY KEY is 64-bit already.

Only ``ADD COLUMN`` and ``DROP COLUMN`` on SQLite, no table copy: copying ``agents``
would drop the original, and with foreign keys on that deletes its memberships.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ORDERED_JSON = [
    ("config_versions", "diff"),
    ("config_versions", "snapshot"),
    ("routing_globals", "value"),
    ("queues", "config"),
    ("agents", "config"),
    ("dids", "config"),
]
POSITIONED = ("queues", "agents", "agent_skills")
BIGINT_KEYS = [("outbox", "position"), ("audit_log", "id")]


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _sequence(table: str, column: str) -> str:
    query = sa.text("SELECT pg_get_serial_sequence(:t, :c)").bindparams(t=table, c=column)
    name = op.get_bind().scalar(query)
    if not name:
        raise RuntimeError(f"{table}.{column} has no sequence: not the schema 0002/0003 made")
    return str(name)


def _fill_positions() -> None:
    """Number the current rows in the order of the newest snapshot (the tables hold
    that version); a row it does not list goes last (0 left by the default, then name)."""
    bind = op.get_bind()
    versions = sa.table("config_versions", sa.column("version"), sa.column("snapshot", sa.JSON))
    snapshot: dict[str, Any] | None = bind.scalar(
        sa.select(versions.c.snapshot).order_by(versions.c.version.desc()).limit(1)
    )
    if not snapshot:
        return
    queues = sa.table("queues", sa.column("name"), sa.column("position"))
    agents = sa.table("agents", sa.column("sip_user"), sa.column("position"))
    skills = sa.table("agent_skills", sa.column("agent"), sa.column("skill"), sa.column("position"))
    for i, name in enumerate(snapshot.get("queues") or {}):
        bind.execute(sa.update(queues).where(queues.c.name == name).values(position=i))
    for i, (user, agent) in enumerate((snapshot.get("agents") or {}).items()):
        bind.execute(sa.update(agents).where(agents.c.sip_user == user).values(position=i))
        for j, skill in enumerate((agent or {}).get("skills") or {}):
            bind.execute(
                sa.update(skills)
                .where(skills.c.agent == user, skills.c.skill == skill)
                .values(position=j)
            )


def upgrade() -> None:
    for table in POSITIONED:
        # NOT NULL needs a default for the rows already there; PostgreSQL drops it below
        op.add_column(
            table, sa.Column("position", sa.Integer(), nullable=False, server_default="0")
        )
    _fill_positions()
    if not _postgresql():
        return
    for table in POSITIONED:
        op.alter_column(table, "position", server_default=None, existing_type=sa.Integer())
    for table, column in ORDERED_JSON:
        op.alter_column(
            table,
            column,
            type_=sa.JSON(),
            existing_type=postgresql.JSONB(),
            existing_nullable=False,
            postgresql_using=f"{column}::json",
        )
    for table, column in BIGINT_KEYS:
        op.alter_column(
            table,
            column,
            type_=sa.BigInteger(),
            existing_type=sa.Integer(),
            existing_nullable=False,
        )
        op.execute(f"ALTER SEQUENCE {_sequence(table, column)} AS bigint")


def downgrade() -> None:
    if _postgresql():
        # fails past 2^31 - 1: such an outbox or audit log does not fit 0003's schema
        for table, column in BIGINT_KEYS:
            op.execute(f"ALTER SEQUENCE {_sequence(table, column)} AS integer")
            op.alter_column(
                table, column, type_=sa.Integer(), existing_type=sa.BigInteger(),
                existing_nullable=False,
            )  # fmt: skip
        for table, column in ORDERED_JSON:
            op.alter_column(
                table,
                column,
                type_=postgresql.JSONB(),
                existing_type=sa.JSON(),
                existing_nullable=False,
                postgresql_using=f"{column}::jsonb",
            )
    for table in POSITIONED:
        op.drop_column(table, "position")
