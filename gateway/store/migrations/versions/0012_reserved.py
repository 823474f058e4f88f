"""reserved

Revision ID: 0012
Revises: 0011
Created: 2026-12-02

Reserved for the "segments" work of this round (a no-op placeholder, so the chain stays
linear); its owner fills it in.
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
