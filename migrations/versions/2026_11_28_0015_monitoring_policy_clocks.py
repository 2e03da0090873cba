"""Monitoring: every case clock in the policy table.

The first-measure clock (a development-type measure within a month of the county's decision)
was a constant in code, and the county's decision on an elimination proposal ran on the
identification deadline. Both become policy figures per region and year, so operators set them
as they set the others (domain.md section 3). Existing policies keep today's behaviour: 30 days,
and the elimination clock equal to their identification deadline.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "policies",
        sa.Column("first_measure_days", sa.SmallInteger(), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "policies",
        sa.Column("elimination_decision_days", sa.SmallInteger(), nullable=True),
        schema="monitoring",
    )
    op.execute(
        "UPDATE monitoring.policies "
        "SET first_measure_days = 30, elimination_decision_days = identification_deadline_days"
    )
    # No server default: a policy written without a figure is a bug, not a silent 30 days.
    op.alter_column("policies", "first_measure_days", nullable=False, schema="monitoring")
    op.alter_column("policies", "elimination_decision_days", nullable=False, schema="monitoring")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("policies", "elimination_decision_days", schema="monitoring")
    op.drop_column("policies", "first_measure_days", schema="monitoring")
