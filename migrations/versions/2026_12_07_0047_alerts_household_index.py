"""An index on monitoring's alerts by household.

A signal's ``alert_ids`` (in every ``signal.*`` event, and its GET) are the alerts of its
household whose figures list it. Only open alerts were indexed by household (the partial
``uq_alerts_open_household_rule``), so each signal's lookup read the whole alerts table once
the closed alerts grew: a department's batch of 5,000 signals against 150,000 alerts is
750 million rows read. With the index it is one probe per signal.

Revision ID: 0047_alerts_household
Revises: 0040_scorecards
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0047_alerts_household"
down_revision: str | None = "0040_scorecards"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_alerts_household_id", "alerts", ["household_id"], schema="monitoring")


def downgrade() -> None:
    op.drop_index("ix_alerts_household_id", "alerts", schema="monitoring")
