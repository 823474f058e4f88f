"""reserved

Revision ID: 0014
Revises: 0013
Created: 2026-12-02

Reserved for the "standby" work of this round (a no-op placeholder, so the chain stays
linear); its owner fills it in.
"""

from __future__ import annotations

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
