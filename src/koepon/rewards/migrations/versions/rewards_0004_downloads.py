"""The downloads tables.

Revision ID: rewards_0004
Revises: rewards_0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

revision: str = "rewards_0004"
down_revision: str | None = "rewards_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
