"""A change log that proves itself, and the moment each entry committed.

Every entry gets, at the commit that gives it its ``position`` (the deferred trigger of
0017_feeds, under the service's advisory lock), two more columns:

- ``committed_at``: ``clock_timestamp()`` at that step. ``at`` is when the transaction
  *began*; an as-of read (``as_of=``) must not use an entry whose transaction began before the
  moment asked about but committed after it, so it reads by ``committed_at``. Taken under the
  lock, it rises with ``position``.
- ``hash``: ``sha256(previous entry's hash || sha256(content))`` per service, in ``position``
  order (the first entry's previous hash is empty). The content is every column but ``xid``
  and ``hash`` (``change_log_content``), rendered as a JSON array (jsonb's text is canonical,
  timestamps as microseconds since 1970, so no session setting changes it). The trigger
  computes it set-based: ``change_log_chain``, an aggregate used as a running window function
  over the transaction's entries ordered by position, seeded with the head before them.

A superuser who changes or deletes an entry (with the append-only triggers disabled) breaks
the chain at that entry, or at the one after a deleted one; rewriting every later hash too
is what the daily chain head in the job log (an outside copy) catches.

Existing entries are stamped ``committed_at = at`` and chained in their position order. The
feeds' unique index on ``position`` now holds every committed entry (``position IS NOT NULL``,
which the feeds' ``position > :after`` implies): the trigger finds the head by it, and the
verification walks the log in its order.

Revision ID: 0041_chain
Revises: 0042_duplicates
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0041_chain"
down_revision: str | None = "0042_duplicates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("registry", "monitoring", "funds")


def _micros(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000000)::bigint"


def content_function_sql(schema: str) -> str:
    """The digest of one entry's content, given its position and commit time. STABLE as its
    body is (``extract`` from a timestamptz), so the planner inlines it into the query."""
    return f"""
    CREATE FUNCTION {schema}.change_log_content(c {schema}.change_log, pos bigint,
                                                 committed timestamptz)
    RETURNS bytea LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT sha256(convert_to(jsonb_build_array(
            c.seq, pos, {_micros("committed")}, {_micros("c.at")}, c.actor, c.actor_role,
            c.client_id, c.action, c.entity, c.entity_id, c.household_id, c.region_code, c.op,
            c.old, c.new, c.data, c.batch_id, c.batch_item_id)::text, 'UTF8'))
    $$
    """


def chain_sql(schema: str) -> list[str]:
    return [
        f"""
        CREATE FUNCTION {schema}.change_log_chain_step(state bytea, seed bytea, content bytea)
        RETURNS bytea LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
        BEGIN
            -- PL/pgSQL: a transition function in SQL is not inlined, and its call costs more.
            RETURN sha256(coalesce(state, seed, ''::bytea) || content);
        END $$
        """,
        f"""
        CREATE AGGREGATE {schema}.change_log_chain(bytea, bytea) (
            SFUNC = {schema}.change_log_chain_step, STYPE = bytea)
        """,
    ]


def position_function_sql(schema: str, *, chained: bool) -> str:
    """0017's commit-time numbering; ``chained``: it stamps and chains the entries too."""
    setting = f"povguard.{schema}_positioned"
    head = (
        f"""
        -- The chain's head: the last committed entry (its commit released the lock).
        SELECT hash INTO head FROM {schema}.change_log
         WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1;
        stamp := clock_timestamp();
        """
        if chained
        else ""
    )
    chain = (
        f""", chained AS (
            SELECT n.seq, n.p, {schema}.change_log_chain(
                       head, {schema}.change_log_content(n.entry, n.p, stamp))
                       OVER (ORDER BY n.p) AS h
              FROM numbered n
        ), moved AS (
            UPDATE {schema}.change_log c SET position = n.p, committed_at = stamp, hash = n.h
              FROM chained n WHERE c.seq = n.seq
            RETURNING c.seq
        )"""
        if chained
        else f""", moved AS (
            UPDATE {schema}.change_log c SET position = n.p
              FROM numbered n WHERE c.seq = n.seq
            RETURNING c.seq
        )"""
    )
    # The chained step reads each entry once: the whole row travels with its number.
    entry = ", mine.entry" if chained else ""
    return f"""
    CREATE OR REPLACE FUNCTION {schema}.change_log_position() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        done bigint := coalesce(nullif(current_setting('{setting}', true), ''), '0')::bigint;
        head bytea;
        stamp timestamptz;
    BEGIN
        IF NEW.seq <= done THEN
            RETURN NULL;
        END IF;
        -- Held until this commit is visible: positions follow the order of commits.
        PERFORM pg_advisory_xact_lock(hashtext('{schema}.change_log_position'));
        {head}
        WITH numbered AS (
            SELECT mine.seq, nextval('{schema}.change_log_position_seq') AS p{entry}
              FROM (SELECT c.seq, c AS entry FROM {schema}.change_log c
                     WHERE xid = pg_current_xact_id() AND position IS NULL
                     ORDER BY seq) mine
        ){chain}
        SELECT max(seq) INTO done FROM moved;
        PERFORM set_config('{setting}', greatest(done, NEW.seq)::text, true);
        RETURN NULL;
    END $$
    """


def _upgrade(schema: str) -> None:
    op.add_column(
        "change_log", sa.Column("committed_at", sa.DateTime(timezone=True)), schema=schema
    )
    op.add_column("change_log", sa.Column("hash", postgresql.BYTEA()), schema=schema)
    op.execute(content_function_sql(schema))
    for statement in chain_sql(schema):
        op.execute(statement)
    op.drop_index("ix_change_log_position", "change_log", schema=schema)
    op.create_index(
        "ix_change_log_position",
        "change_log",
        ["position"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("position IS NOT NULL"),
    )
    # The entries already committed: stamped with their time, chained in position order.
    op.execute(f"ALTER TABLE {schema}.change_log DISABLE TRIGGER change_log_append_only")
    op.execute(
        f"""
        UPDATE {schema}.change_log c SET committed_at = c.at, hash = o.h
          FROM (SELECT seq, {schema}.change_log_chain(
                           NULL, {schema}.change_log_content(x, x.position, x.at))
                           OVER (ORDER BY position) AS h
                  FROM {schema}.change_log x WHERE position IS NOT NULL) o
         WHERE c.seq = o.seq
        """
    )
    op.execute(f"ALTER TABLE {schema}.change_log ENABLE TRIGGER change_log_append_only")
    op.execute(position_function_sql(schema, chained=True))


def upgrade() -> None:
    for schema in SCHEMAS:
        _upgrade(schema)


def _downgrade(schema: str) -> None:
    op.execute(position_function_sql(schema, chained=False))
    op.drop_index("ix_change_log_position", "change_log", schema=schema)
    op.create_index(
        "ix_change_log_position",
        "change_log",
        ["position"],
        unique=True,
        schema=schema,
        postgresql_where=sa.text("op IS NOT NULL"),
    )
    op.execute(f"DROP AGGREGATE {schema}.change_log_chain(bytea, bytea)")
    op.execute(f"DROP FUNCTION {schema}.change_log_chain_step(bytea, bytea, bytea)")
    op.execute(
        f"DROP FUNCTION {schema}.change_log_content({schema}.change_log, bigint, timestamptz)"
    )
    op.drop_column("change_log", "hash", schema=schema)
    op.drop_column("change_log", "committed_at", schema=schema)


def downgrade() -> None:
    for schema in SCHEMAS:
        _downgrade(schema)
