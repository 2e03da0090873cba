"""Monitoring: the elimination notice's dates on the case.

The elimination is publicly noticed as the inclusion was (domain.md section 3); the county
decides only after that notice ends, so its dates live on the case next to the inclusion
notice's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "cases",
        sa.Column("elimination_notice_starts_on", sa.Date(), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "cases",
        sa.Column("elimination_notice_ends_on", sa.Date(), nullable=True),
        schema="monitoring",
    )
    # Cases proposed before this revision keep their notice in the timeline only.
    op.execute(
        """
        UPDATE monitoring.cases c
           SET elimination_notice_starts_on = CAST(e.details ->> 'starts_on' AS date),
               elimination_notice_ends_on = CAST(e.details ->> 'ends_on' AS date)
          FROM (SELECT DISTINCT ON (case_id) case_id, details
                  FROM monitoring.case_events
                 WHERE action = 'propose_elimination'
                 ORDER BY case_id, id DESC) e
         WHERE e.case_id = c.id
        """
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("cases", "elimination_notice_ends_on", schema="monitoring")
    op.drop_column("cases", "elimination_notice_starts_on", schema="monitoring")
