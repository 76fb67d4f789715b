"""Gachas count the catalogue events published for them (``gacha.catalog.changed.v1``'s
``revision``).

Revision ID: gacha_0003
Revises: gacha_0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gacha_0003"
down_revision: str | None = "gacha_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("gachas") as batch:
        batch.add_column(
            sa.Column("catalog_revision", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("gachas") as batch:
        batch.drop_column("catalog_revision")
