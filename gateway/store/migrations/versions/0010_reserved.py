"""reserved (transfers, issue 11): a no-op until its owner fills it in

Revision ID: 0010
Revises: 0009
Created: 2026-12-01
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
