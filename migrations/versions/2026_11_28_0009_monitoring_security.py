"""Monitoring security (issue 15).

- Signals are deduplicated per submitter's region: another county's department reusing an
  ``external_ref`` gets its own signal instead of seeing the first county's.

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
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


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
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
