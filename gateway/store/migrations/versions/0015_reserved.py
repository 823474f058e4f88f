"""reserved

Revision ID: 0015
Revises: 0014
Created: 2026-12-02

Reserved for the "events-cost" work of this round (a no-op placeholder, so the chain stays
linear); its owner fills it in.
"""

from __future__ import annotations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
