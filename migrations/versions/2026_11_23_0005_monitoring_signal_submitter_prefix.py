"""Monitoring: the submitter's region prefix on each signal.

A signal matches only households inside the region of whoever sent it; one that matches
nobody yet keeps that region so that a later match (the person appearing in the projection)
stays inside it too.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "signals",
        sa.Column("submitter_prefix", sa.String(length=12, collation="C"), nullable=True),
        schema="monitoring",
    )
    # An unmatched signal's region is its submitter's (shared.regions.prefix_of in SQL); a
    # matched one is never matched again, so its household's region is as good.
    op.execute(
        """
        UPDATE monitoring.signals
           SET submitter_prefix = CASE
               WHEN substr(region_code, 3) = '0000000000' THEN substr(region_code, 1, 2)
               WHEN substr(region_code, 5) = '00000000' THEN substr(region_code, 1, 4)
               WHEN substr(region_code, 7) = '000000' THEN substr(region_code, 1, 6)
               WHEN substr(region_code, 10) = '000' THEN substr(region_code, 1, 9)
               ELSE region_code END
        """
    )
    op.alter_column("signals", "submitter_prefix", nullable=False, schema="monitoring")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("signals", "submitter_prefix", schema="monitoring")
