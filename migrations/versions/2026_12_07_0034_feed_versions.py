"""Every entity in a feed carries its version: allocations and distributions (append-only
ledgers, so always 1) and monitoring's signals (1 received, 2 once matched) get the column
their events and GET show. (An asset's income entry,
append-only too, shows a version derived from whether it was distributed.)

Revision ID: 0034_feed_versions
Revises: 0033
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034_feed_versions"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("allocations", "distributions")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("version", sa.Integer(), server_default="1", nullable=False),
            schema="funds",
        )
    op.add_column(
        "signals",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        schema="monitoring",
    )
    op.execute("UPDATE monitoring.signals SET version = 2 WHERE household_id IS NOT NULL")


def downgrade() -> None:
    op.drop_column("signals", "version", schema="monitoring")
    for table in TABLES:
        op.drop_column(table, "version", schema="funds")
