"""reserved

Revision ID: 0013
Revises: 0012
Created: 2026-12-02

Reserved for the "adoption" work of this round (a no-op placeholder, so the chain stays
linear); its owner fills it in.
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
