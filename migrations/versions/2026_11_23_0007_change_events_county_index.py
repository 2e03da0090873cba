"""Registry: the change feed's county index.

A county's department reads only its county's events, about 1/88 of the province's. On the
(xid, seq) index alone such a page walked about 88 events for every one it returned (a
page of 10,000 took up to 1 s at 10 million events). An index led by the county digits of
the region code serves the page in order directly; township and village readers use it too
and filter the rest. Built CONCURRENTLY so a live feed keeps taking writes meanwhile.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_change_events_county_xid_seq"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index(
            INDEX,
            "change_events",
            [sa.text("left(region_code, 6)"), "xid", "seq"],
            schema="registry",
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            INDEX, "change_events", schema="registry", postgresql_concurrently=True, if_exists=True
        )
