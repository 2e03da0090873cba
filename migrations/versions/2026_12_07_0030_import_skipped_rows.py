"""Imports count the rows they set aside as not data (合计, 填表人 footers, a header printed
again, blank and title rows) and keep the first of them with their reason.

Revision ID: 0030
Revises: 0017_feeds
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0030"
down_revision: str | None = "0017_feeds"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "imports",
        sa.Column("skipped", sa.Integer(), nullable=False, server_default="0"),
        schema="registry",
    )
    op.add_column(
        "imports",
        sa.Column(
            "skipped_rows",
            postgresql.JSONB(),
            nullable=False,
            server_default=sa.text("'[]'::jsonb"),
        ),
        schema="registry",
    )


def downgrade() -> None:
    op.drop_column("imports", "skipped_rows", schema="registry")
    op.drop_column("imports", "skipped", schema="registry")
