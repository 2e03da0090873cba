"""Every entity in a feed carries its version: allocations (append-only, so always 1) get the
column their events and GET show.

Revision ID: 0018_feed_versions
Revises: 0017_feeds
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_feed_versions"
down_revision: str | None = "0017_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "allocations",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        schema="funds",
    )


def downgrade() -> None:
    op.drop_column("allocations", "version", schema="funds")
