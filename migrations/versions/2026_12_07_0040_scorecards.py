"""Risk scorecards per region and year, the households' scores, and the score each alert
carries (issue 25, item 1).

Revision ID: 0040_scorecards
Revises: 0041_chain
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0040_scorecards"
down_revision: str | None = "0041_chain"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "scorecards",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("indicators", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('active', 'superseded', 'pending', 'refused')",
            name=op.f("ck_scorecards_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scorecards")),
        schema="monitoring",
    )
    for status in ("active", "pending"):
        op.create_index(
            f"uq_scorecards_{status}_region_code_year",
            "scorecards",
            ["region_code", "year"],
            unique=True,
            schema="monitoring",
            postgresql_where=sa.text(f"status = '{status}'"),
        )
    op.create_table(
        "household_scores",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.Numeric(9, 4), nullable=False),
        sa.Column("scorecard_id", sa.Uuid(), nullable=True),
        sa.Column("scorecard_version", sa.Integer(), nullable=False),
        sa.Column("indicators", postgresql.ARRAY(sa.REAL(), dimensions=2), nullable=False),
        sa.Column("scan_id", sa.Uuid(), nullable=True),
        sa.Column(
            "scored_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("household_id", name=op.f("pk_household_scores")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_household_scores_region_code_score_household_id"),
        "household_scores",
        ["region_code", "score", "household_id"],
        schema="monitoring",
    )
    op.add_column(
        "alerts", sa.Column("score", sa.Numeric(9, 4), nullable=True), schema="monitoring"
    )
    op.add_column(
        "alerts",
        sa.Column(
            "top_indicators",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="monitoring",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("alerts", "top_indicators", schema="monitoring")
    op.drop_column("alerts", "score", schema="monitoring")
    op.drop_table("household_scores", schema="monitoring")
    op.drop_table("scorecards", schema="monitoring")
