"""Declarations carry a version, as their feed events and GET show it: 1 received, one more
for each review step (an official taking it up, accepting or dismissing it). Declarations
already reviewed start at 2 (their steps before this revision published no events).

Revision ID: 0043_declaration_versions
Revises: 0034_feed_versions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043_declaration_versions"
down_revision: str | None = "0034_feed_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "declarations",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        schema="monitoring",
    )
    op.execute("UPDATE monitoring.declarations SET version = 2 WHERE status <> 'received'")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("declarations", "version", schema="monitoring")
