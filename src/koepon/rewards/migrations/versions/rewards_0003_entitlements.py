"""The entitlements tables.

Revision ID: rewards_0003
Revises: rewards_0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "rewards_0003"
down_revision: str | None = "rewards_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
