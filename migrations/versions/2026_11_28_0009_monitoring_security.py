"""Monitoring security (issue 15).

- Signals are deduplicated per submitter's region: another county's department reusing an
  ``external_ref`` gets its own signal instead of seeing the first county's.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_constraint("uq_signals_source_external_ref", "signals", schema="monitoring")
    op.create_unique_constraint(
        "uq_signals_source_submitter_prefix_external_ref",
        "signals",
        ["source", "submitter_prefix", "external_ref"],
        schema="monitoring",
    )

    op.add_column(
        "declarations",
        sa.Column("status", sa.String(length=16), server_default="received", nullable=False),
        schema="monitoring",
    )
    op.execute("UPDATE monitoring.declarations SET status = 'accepted'")
    op.add_column(
        "declarations",
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "declarations",
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "declarations",
        sa.Column("review_note", sa.String(length=2000), server_default="", nullable=False),
        schema="monitoring",
    )
    op.alter_column("declarations", "case_id", nullable=True, schema="monitoring")
    op.create_index(
        "ix_declarations_status_created_at",
        "declarations",
        ["status", "created_at"],
        schema="monitoring",
    )

    op.add_column(
        "policies",
        sa.Column("status", sa.String(length=12), server_default="active", nullable=False),
        schema="monitoring",
    )
    op.add_column(
        "policies",
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "policies",
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "policies",
        sa.Column(
            "loosens",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="monitoring",
    )
    op.create_check_constraint(
        "ck_policies_status",
        "policies",
        "status IN ('active', 'superseded', 'pending', 'refused')",
        schema="monitoring",
    )
    op.drop_constraint("uq_policies_region_code_year", "policies", schema="monitoring")
    for status in ("active", "pending"):
        op.create_index(
            f"uq_policies_{status}_region_code_year",
            "policies",
            ["region_code", "year"],
            unique=True,
            schema="monitoring",
            postgresql_where=sa.text(f"status = '{status}'"),
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # Back to one row per region and year: the one in force. Cases and alerts that followed a
    # superseded row follow the one in force again.
    for table in ("cases", "alerts"):
        op.execute(
            f"""
            UPDATE monitoring.{table} t SET policy_id = a.id
              FROM monitoring.policies old
              JOIN monitoring.policies a ON a.region_code = old.region_code
                                        AND a.year = old.year AND a.status = 'active'
             WHERE t.policy_id = old.id AND old.status <> 'active'
            """
        )
    op.execute("DELETE FROM monitoring.policies WHERE status <> 'active'")
    for status in ("active", "pending"):
        op.drop_index(f"uq_policies_{status}_region_code_year", "policies", schema="monitoring")
    op.create_unique_constraint(
        "uq_policies_region_code_year", "policies", ["region_code", "year"], schema="monitoring"
    )
    op.drop_constraint("ck_policies_status", "policies", schema="monitoring")
    for column in ("loosens", "decided_by", "requested_by", "status"):
        op.drop_column("policies", column, schema="monitoring")

    # Declarations never accepted have no case to go back to.
    op.execute("DELETE FROM monitoring.declarations WHERE case_id IS NULL")
    op.drop_index("ix_declarations_status_created_at", "declarations", schema="monitoring")
    op.alter_column("declarations", "case_id", nullable=False, schema="monitoring")
    for column in ("review_note", "reviewed_at", "reviewed_by", "status"):
        op.drop_column("declarations", column, schema="monitoring")
    # Going back to one key per source: keep the first signal of each reused reference.
    op.execute(
        """
        DELETE FROM monitoring.signals s USING monitoring.signals t
         WHERE s.source = t.source AND s.external_ref = t.external_ref
           AND (s.received_at, s.id) > (t.received_at, t.id)
        """
    )
    op.drop_constraint(
        "uq_signals_source_submitter_prefix_external_ref", "signals", schema="monitoring"
    )
    op.create_unique_constraint(
        "uq_signals_source_external_ref", "signals", ["source", "external_ref"], schema="monitoring"
    )
