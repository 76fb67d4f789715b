"""Checkouts may end as ``cancelled`` (the fan gave up the hosted page).

Revision ID: payment_0004
Revises: payment_0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "payment_0004"
down_revision: str | None = "payment_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BEFORE = "'creating', 'open', 'pending', 'succeeded', 'failed', 'expired', "
AFTER = "'refunded', 'charged_back'"
WITH_CANCELLED = f"status IN ({BEFORE}'cancelled', {AFTER})"
WITHOUT_CANCELLED = f"status IN ({BEFORE}{AFTER})"


def _status_check(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new check.
    with op.batch_alter_table("checkouts", schema=None) as batch_op:
        batch_op.drop_constraint("ck_checkouts_status", type_="check")
        batch_op.create_check_constraint("ck_checkouts_status", condition)


def upgrade() -> None:
    _status_check(WITH_CANCELLED)


def downgrade() -> None:
    op.execute("UPDATE checkouts SET status = 'expired' WHERE status = 'cancelled'")
    _status_check(WITHOUT_CANCELLED)
