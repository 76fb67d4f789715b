"""Draws remember whether the fan opted in to show the pull on the VTuber's stream overlay.

Revision ID: gacha_0005
Revises: gacha_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gacha_0005"
down_revision: str | None = "gacha_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Earlier draws were never shown on a stream: false for every existing row.
    with op.batch_alter_table("draws") as batch:
        batch.add_column(
            sa.Column("show_on_stream", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("draws") as batch:
        batch.drop_column("show_on_stream")
