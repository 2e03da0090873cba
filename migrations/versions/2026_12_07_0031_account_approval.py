"""A province admin created through the API waits for a second province admin's approval.

``registry.users.created_by`` names who created an account through the API (null for the
CLI and for accounts older than this), and ``approval_pending_since`` marks an account that
may not sign in until another province admin approves it (issue 19.9).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("created_by", sa.String(100), nullable=True), schema="registry"
    )
    op.add_column(
        "users",
        sa.Column("approval_pending_since", sa.DateTime(timezone=True), nullable=True),
        schema="registry",
    )


def downgrade() -> None:
    op.drop_column("users", "approval_pending_since", schema="registry")
    op.drop_column("users", "created_by", schema="registry")
