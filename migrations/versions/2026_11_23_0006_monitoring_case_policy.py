"""Monitoring: the policy a case was opened under.

A case records the policy row (province or county override, and year) whose deadlines,
notice days and elimination conditions it follows, as alerts already do; a policy set
later for the county does not change the rules of a case under way.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("cases", sa.Column("policy_id", sa.Uuid(), nullable=True), schema="monitoring")
    # Cases opened before: the policy in force for their region and year (a county's own,
    # else its province's), as the service looked it up.
    op.execute(
        """
        UPDATE monitoring.cases c
           SET policy_id = (
               SELECT p.id FROM monitoring.policies p
                WHERE p.year = c.policy_year
                  AND p.region_code IN (left(c.region_code, 6) || '000000',
                                        left(c.region_code, 2) || '0000000000')
                ORDER BY p.region_code DESC LIMIT 1)
        """
    )


def downgrade() -> None:
    op.drop_column("cases", "policy_id", schema="monitoring")
