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
        # Outside a transaction SET LOCAL does nothing: the session's own lock_timeout stops
        # the build from queueing behind a long transaction (and every write behind it).
        op.execute("SET lock_timeout = '5s'")
        # A concurrent build that failed leaves an INVALID index the planner ignores but every
        # write maintains; drop it and build again rather than keep it under the same name.
        op.execute(
            f"""
            DO $$ BEGIN
              IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                          JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = 'registry' AND c.relname = '{INDEX}'
                            AND NOT i.indisvalid) THEN
                DROP INDEX registry.{INDEX};
              END IF;
            END $$
            """
        )
        op.create_index(
            INDEX,
            "change_events",
            [sa.text("left(region_code, 6)"), "xid", "seq"],
            schema="registry",
            postgresql_concurrently=True,
            if_not_exists=True,
        )
        op.execute("RESET lock_timeout")


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(
            INDEX, "change_events", schema="registry", postgresql_concurrently=True, if_exists=True
        )
