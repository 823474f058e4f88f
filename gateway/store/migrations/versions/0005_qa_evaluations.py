"""QA: evaluation form versions, evaluations, timestamped remarks (gateway/store/evaluations.py)

Revision ID: 0005
Revises: 0004
Created: 2026-12-01

Portable types only: the same statements run on SQLite and PostgreSQL. The JSON columns
are JSON text on both (a form's sections and an evaluation's answers keep their order).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_forms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_forms")),
        sa.UniqueConstraint("name", "version", name="uq_qa_forms_name_version"),
    )
    op.create_index("ix_qa_forms_name", "qa_forms", ["name"], unique=False)
    op.create_table(
        "qa_evaluations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("form_id", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=False),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("auto_failed", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("acknowledgement", sa.String(length=16), nullable=False),
        sa.Column("agent_comment", sa.Text(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "acknowledgement IS NULL OR acknowledgement IN ('none', 'acknowledged', 'disputed')",
            name=op.f("ck_qa_evaluations_acknowledgement"),
        ),
        sa.CheckConstraint(
            "state IS NULL OR state IN ('draft', 'submitted')",
            name=op.f("ck_qa_evaluations_state"),
        ),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_qa_evaluations_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["form_id"], ["qa_forms.id"], name=op.f("fk_qa_evaluations_form_id_qa_forms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_evaluations")),
        sa.UniqueConstraint("call_id", "reviewer", name="uq_qa_evaluations_call_id_reviewer"),
    )  # fmt: skip
    op.create_index("ix_qa_evaluations_agent_state", "qa_evaluations", ["agent", "state"])
    op.create_index("ix_qa_evaluations_call_id", "qa_evaluations", ["call_id"])
    op.create_index("ix_qa_evaluations_form_id", "qa_evaluations", ["form_id"])
    op.create_table(
        "qa_remarks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("offset_seconds", sa.Double(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_qa_remarks_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["qa_evaluations.id"],
            name=op.f("fk_qa_remarks_evaluation_id_qa_evaluations"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_remarks")),
    )  # fmt: skip
    op.create_index("ix_qa_remarks_call_id", "qa_remarks", ["call_id"])


def downgrade() -> None:
    op.drop_index("ix_qa_remarks_call_id", table_name="qa_remarks")
    op.drop_table("qa_remarks")
    for index in ("form_id", "call_id", "agent_state"):
        op.drop_index(f"ix_qa_evaluations_{index}", table_name="qa_evaluations")
    op.drop_table("qa_evaluations")
    op.drop_index("ix_qa_forms_name", table_name="qa_forms")
    op.drop_table("qa_forms")
