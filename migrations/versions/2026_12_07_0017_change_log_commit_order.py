"""Change-log entries numbered in commit order: every feed and webhook stream reads by it.

The feeds read by (xid, seq): a transaction's id is fixed at its first write, not at its
commit, so two transactions writing the same record could list their versions backwards, and
the xid's text form sorted ``999`` after ``4617``. Each entry now gets ``position`` when its
transaction commits: a DEFERRABLE INITIALLY DEFERRED constraint trigger takes the service's
advisory lock (held until the commit is visible) and numbers the transaction's entries from
the service's sequence, set-based, in their ``seq`` order. Positions are so handed out in
commit order, and one that is visible has every smaller one visible (or rolled back).

The entries already written are numbered in their old (xid, seq) order, so a partner's
(xid, seq) cursor names the same place: the feed translates it to its entry's position.
The webhook dispatchers' cursors are translated here. An entry may be changed (given its
position) only while it has none: by the transaction that wrote it, before its commit.

Revision ID: 0017_feeds
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_feeds"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("registry", "monitoring", "funds")
PUBLISHED = sa.text("op IS NOT NULL")


def position_function_sql(schema: str) -> str:
    """The commit-time numbering of ``schema``'s change log (once per transaction: the rows
    after the first find their transaction numbered up to them; SET CONSTRAINTS ... IMMEDIATE
    numbers each statement's entries at its end)."""
    setting = f"povguard.{schema}_positioned"
    return f"""
    CREATE FUNCTION {schema}.change_log_position() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        done bigint := coalesce(nullif(current_setting('{setting}', true), ''), '0')::bigint;
    BEGIN
        IF NEW.seq <= done THEN
            RETURN NULL;
        END IF;
        -- Held until this commit is visible: positions follow the order of commits.
        PERFORM pg_advisory_xact_lock(hashtext('{schema}.change_log_position'));
        WITH numbered AS (
            SELECT mine.seq, nextval('{schema}.change_log_position_seq') AS p
              FROM (SELECT seq FROM {schema}.change_log
                     WHERE xid = pg_current_xact_id() AND position IS NULL
                     ORDER BY seq) mine
        ), moved AS (
            UPDATE {schema}.change_log c SET position = n.p
              FROM numbered n WHERE c.seq = n.seq
            RETURNING c.seq
        )
        SELECT max(seq) INTO done FROM moved;
        PERFORM set_config('{setting}', greatest(done, NEW.seq)::text, true);
        RETURN NULL;
    END $$
    """


def _upgrade(schema: str) -> None:
    op.add_column("change_log", sa.Column("position", sa.BigInteger()), schema=schema)
    op.execute(f"CREATE SEQUENCE {schema}.change_log_position_seq AS bigint")
    # Append-only still: an entry changes only while it has no position (before its commit).
    op.execute(f"DROP TRIGGER change_log_append_only ON {schema}.change_log")
    op.execute(
        f"CREATE TRIGGER change_log_no_delete BEFORE DELETE ON {schema}.change_log "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER change_log_append_only BEFORE UPDATE ON {schema}.change_log "
        f"FOR EACH ROW WHEN (OLD.position IS NOT NULL) EXECUTE FUNCTION {schema}.refuse_change()"
    )
    op.execute(
        f"""
        UPDATE {schema}.change_log c SET position = o.p
          FROM (SELECT seq, row_number() OVER (ORDER BY xid, seq) AS p
                  FROM {schema}.change_log) o
         WHERE c.seq = o.seq
        """
    )
    op.execute(
        f"SELECT setval('{schema}.change_log_position_seq', "
        f"coalesce((SELECT max(position) FROM {schema}.change_log), 0) + 1, false)"
    )
    op.execute(position_function_sql(schema))
    op.execute(
        f"CREATE CONSTRAINT TRIGGER change_log_position AFTER INSERT ON {schema}.change_log "
        f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        f"EXECUTE FUNCTION {schema}.change_log_position()"
    )
    op.drop_index("ix_change_log_xid_seq", "change_log", schema=schema)
    op.create_index(
        "ix_change_log_position",
        "change_log",
        ["position"],
        unique=True,
        schema=schema,
        postgresql_where=PUBLISHED,
    )
    # The commit step finds its transaction's entries: only entries not yet committed.
    op.create_index(
        "ix_change_log_unpositioned",
        "change_log",
        ["xid"],
        schema=schema,
        postgresql_where=sa.text("position IS NULL"),
    )
    if schema == "registry":
        op.drop_index("ix_change_log_county_xid_seq", "change_log", schema=schema)
        op.create_index(
            "ix_change_log_county_position",
            "change_log",
            [sa.text("left(region_code, 6)"), "position"],
            schema=schema,
            postgresql_where=PUBLISHED,
        )
    op.add_column(
        "webhook_cursors",
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        schema=schema,
    )
    op.execute(
        f"""
        UPDATE {schema}.webhook_cursors w SET position = c.position
          FROM {schema}.change_log c WHERE c.seq = w.seq
        """
    )
    op.drop_column("webhook_cursors", "xid", schema=schema)
    op.drop_column("webhook_cursors", "seq", schema=schema)


def upgrade() -> None:
    for schema in SCHEMAS:
        _upgrade(schema)
    # An alert's events carry its version, as GET shows it.
    op.add_column(
        "alerts",
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        schema="monitoring",
    )


def _downgrade(schema: str) -> None:
    op.add_column(
        "webhook_cursors",
        sa.Column("xid", sa.BigInteger(), server_default="0", nullable=False),
        schema=schema,
    )
    op.add_column(
        "webhook_cursors",
        sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False),
        schema=schema,
    )
    op.execute(
        f"""
        UPDATE {schema}.webhook_cursors w SET xid = c.xid::text::bigint, seq = c.seq
          FROM {schema}.change_log c WHERE c.position = w.position AND c.op IS NOT NULL
        """
    )
    op.drop_column("webhook_cursors", "position", schema=schema)
    if schema == "registry":
        op.drop_index("ix_change_log_county_position", "change_log", schema=schema)
        op.create_index(
            "ix_change_log_county_xid_seq",
            "change_log",
            [sa.text("left(region_code, 6)"), "xid", "seq"],
            schema=schema,
            postgresql_where=PUBLISHED,
        )
    op.drop_index("ix_change_log_unpositioned", "change_log", schema=schema)
    op.drop_index("ix_change_log_position", "change_log", schema=schema)
    op.create_index(
        "ix_change_log_xid_seq",
        "change_log",
        ["xid", "seq"],
        schema=schema,
        postgresql_where=PUBLISHED,
    )
    op.execute(f"DROP TRIGGER change_log_position ON {schema}.change_log")
    op.execute(f"DROP FUNCTION {schema}.change_log_position()")
    op.execute(f"DROP TRIGGER change_log_append_only ON {schema}.change_log")
    op.execute(f"DROP TRIGGER change_log_no_delete ON {schema}.change_log")
    op.execute(
        f"CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON {schema}.change_log "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
    )
    op.drop_column("change_log", "position", schema=schema)
    op.execute(f"DROP SEQUENCE {schema}.change_log_position_seq")


def downgrade() -> None:
    op.drop_column("alerts", "version", schema="monitoring")
    for schema in SCHEMAS:
        _downgrade(schema)
