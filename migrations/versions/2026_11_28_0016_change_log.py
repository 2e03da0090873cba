"""One change log per service in place of the audit log and the change events.

An audit row and the change event of one change held the same facts (who, when, which entity,
the state after). ``<schema>.change_log`` (``shared.changelog``) is now the single, append-only
record: the audit views and a household's history read every entry, the change feed and the
webhooks the published ones (``op IS NOT NULL``), in (xid, seq) order as before.

Moving the rows keeps every cursor valid: each change event (registry ``change_events``,
monitoring and funds ``webhook_events``) keeps its ``seq`` and ``xid``, so the feed's and the
webhook dispatcher's (xid, seq) cursors and the deliveries' ``event_ref`` name the same events.
A registry audit row is merged into the event its transaction wrote for the same entity (both
carry the transaction's ``now()``; the n-th audit row of an entity in a transaction pairs with
its n-th event); an audit row with no event (an account, an export, a cadre...) becomes an
entry nobody publishes, numbered after every event in its old order. The audit views order by
(at, seq), so a migrated history reads in the order it did. Monitoring's and funds' audit rows
and their webhook events were separate writes and stay separate entries.

The webhook events' ``xid`` was a bigint (``pg_current_xact_id()::text::bigint``): the same
number as xid8, which every change log now uses.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("registry", "monitoring", "funds")
OUTBOXES = ("monitoring", "funds")

_COLUMNS = (
    "actor, actor_role, client_id, action, entity, entity_id, household_id, region_code, "
    "op, old, new, data"
)


class _Xid8(sa.types.UserDefinedType[int]):
    cache_ok = True

    def get_col_spec(self, **_: object) -> str:
        return "xid8"


def _create(schema: str) -> None:
    op.create_table(
        "change_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("xid", _Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(12, collation="C"), nullable=False),
        sa.Column("op", sa.String(32), nullable=True),
        sa.Column("old", postgresql.JSONB(), nullable=True),
        sa.Column("new", postgresql.JSONB(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_change_log"),
        schema=schema,
    )


def _index(schema: str) -> None:
    published = sa.text("op IS NOT NULL")
    op.create_index(
        "ix_change_log_xid_seq",
        "change_log",
        ["xid", "seq"],
        schema=schema,
        postgresql_where=published,
    )
    op.create_index("ix_change_log_at_seq", "change_log", ["at", "seq"], schema=schema)
    op.create_index(
        "ix_change_log_entity_id_at_seq", "change_log", ["entity_id", "at", "seq"], schema=schema
    )
    op.create_index(
        "ix_change_log_household_id_at_seq",
        "change_log",
        ["household_id", "at", "seq"],
        schema=schema,
        postgresql_where=sa.text("household_id IS NOT NULL"),
    )
    op.create_index(
        "ix_change_log_actor_at_seq", "change_log", ["actor", "at", "seq"], schema=schema
    )
    op.create_index(
        "ix_change_log_region_code_at_seq",
        "change_log",
        ["region_code", "at", "seq"],
        schema=schema,
    )
    if schema == "registry":
        op.create_index(
            "ix_change_log_county_xid_seq",
            "change_log",
            [sa.text("left(region_code, 6)"), "xid", "seq"],
            schema=schema,
            postgresql_where=published,
        )


def _append_only(schema: str, table: str) -> None:
    # The trigger function of each schema comes from revision 0008.
    op.execute(
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {schema}.{table} "
        f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
    )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {schema}.{table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_change()"
    )


def _past_sequence(schema: str, table: str, column: str) -> None:
    """The table's sequence past its largest key (or at 1, unused, when it is empty)."""
    op.execute(
        f"SELECT setval(pg_get_serial_sequence('{schema}.{table}', '{column}'), "
        f"coalesce((SELECT max({column}) FROM {schema}.{table}), 0) + 1, false)"
    )


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in SCHEMAS:
        _create(schema)

    # Registry: events with their audit row, then the audit rows with no event.
    op.execute(
        """
        CREATE TEMPORARY TABLE change_pairs ON COMMIT DROP AS
        WITH a AS (
            SELECT id, at, entity,
                   -- A guarantee check was audited under the check's id, published under
                   -- the household's guarantee of that kind.
                   CASE WHEN entity = 'guarantee' AND action = 'check'
                        THEN household_id::text || ':' || (new ->> 'kind')
                        ELSE entity_id END AS match_id,
                   row_number() OVER (PARTITION BY at, entity,
                       CASE WHEN entity = 'guarantee' AND action = 'check'
                            THEN household_id::text || ':' || (new ->> 'kind')
                            ELSE entity_id END ORDER BY id) AS k
              FROM registry.audit_log
        ), e AS (
            SELECT seq, at, entity, entity_id,
                   row_number() OVER (PARTITION BY at, entity, entity_id ORDER BY seq) AS k
              FROM registry.change_events
        )
        SELECT a.id AS audit_id, e.seq
          FROM a JOIN e ON e.at = a.at AND e.entity = a.entity AND e.entity_id = a.match_id
                       AND e.k = a.k
        """
    )
    op.execute(
        f"""
        INSERT INTO registry.change_log (seq, xid, at, {_COLUMNS})
        SELECT e.seq, e.xid, e.at, coalesce(a.actor, 'system'), coalesce(a.actor_role, 'system'),
               a.client_id, coalesce(a.action, e.op), e.entity, e.entity_id, e.household_id,
               e.region_code, e.op, a.old,
               CASE WHEN a.entity_id IS DISTINCT FROM e.entity_id AND a.new IS NOT NULL
                    THEN a.new || jsonb_build_object('check_id', a.entity_id)
                    WHEN a.new IS DISTINCT FROM e.data THEN a.new END,
               e.data
          FROM registry.change_events e
          LEFT JOIN change_pairs p ON p.seq = e.seq
          LEFT JOIN registry.audit_log a ON a.id = p.audit_id
         ORDER BY e.seq
        """
    )
    _past_sequence("registry", "change_log", "seq")
    op.execute(
        f"""
        INSERT INTO registry.change_log (at, {_COLUMNS})
        SELECT a.at, a.actor, a.actor_role, a.client_id, a.action, a.entity, a.entity_id,
               a.household_id, a.region_code, NULL, a.old, a.new, NULL
          FROM registry.audit_log a
         WHERE NOT EXISTS (SELECT 1 FROM change_pairs p WHERE p.audit_id = a.id)
         ORDER BY a.id
        """
    )
    op.execute("DROP TABLE change_pairs")

    # Monitoring and funds: every webhook event keeps its place, the audit rows follow.
    for schema in OUTBOXES:
        op.execute(
            f"""
            INSERT INTO {schema}.change_log (seq, xid, at, {_COLUMNS})
            SELECT seq, xid::text::xid8, at, 'system', 'system', NULL, type,
                   split_part(type, '.', 1), entity_id, household_id, region_code,
                   substr(type, strpos(type, '.') + 1), NULL, NULL, data
              FROM {schema}.webhook_events ORDER BY seq
            """
        )
        _past_sequence(schema, "change_log", "seq")
        op.execute(
            f"""
            INSERT INTO {schema}.change_log (at, {_COLUMNS})
            SELECT at, actor, actor_role, client_id, action, entity, entity_id, household_id,
                   region_code, NULL, old, new, NULL
              FROM {schema}.audit_log ORDER BY id
            """
        )

    for schema in SCHEMAS:
        op.execute(f"DROP TABLE {schema}.audit_log")  # its append-only triggers with it
        _index(schema)
        _append_only(schema, "change_log")
    op.execute("DROP TABLE registry.change_events")
    for schema in OUTBOXES:
        op.execute(f"DROP TABLE {schema}.webhook_events")


def _audit_log(schema: str) -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(12, collation="C"), nullable=False),
        sa.Column("old", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        schema=schema,
    )
    for column in ("actor", "entity_id", "region_code"):
        op.create_index(f"ix_audit_log_{column}_id", "audit_log", [column, "id"], schema=schema)
    op.create_index(
        "ix_audit_log_household_id_id",
        "audit_log",
        ["household_id", "id"],
        schema=schema,
        postgresql_where="household_id IS NOT NULL",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in SCHEMAS:
        _audit_log(schema)
        # Every entry is an audit row again, numbered in the views' order.
        op.execute(
            f"""
            INSERT INTO {schema}.audit_log (at, actor, actor_role, client_id, action, entity,
                                            entity_id, household_id, region_code, old, new)
            SELECT at, actor, actor_role, client_id, action, entity, entity_id, household_id,
                   region_code, old, coalesce(new, data)
              FROM {schema}.change_log
             WHERE {"true" if schema == "registry" else "actor <> 'system' OR op IS NULL"}
             ORDER BY at, seq
            """
        )
    op.create_table(
        "change_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("xid", _Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("entity", sa.String(32), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(12, collation="C"), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_change_events"),
        schema="registry",
    )
    op.execute(
        """
        INSERT INTO registry.change_events (seq, xid, entity, entity_id, household_id,
                                            region_code, op, at, data)
        SELECT seq, xid, entity, entity_id, household_id, region_code, op, at, data
          FROM registry.change_log WHERE op IS NOT NULL ORDER BY seq
        """
    )
    _past_sequence("registry", "change_events", "seq")
    op.create_index("ix_change_events_xid_seq", "change_events", ["xid", "seq"], schema="registry")
    op.create_index(
        "ix_change_events_county_xid_seq",
        "change_events",
        [sa.text("left(region_code, 6)"), "xid", "seq"],
        schema="registry",
    )
    for schema in OUTBOXES:
        op.create_table(
            "webhook_events",
            sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
            sa.Column(
                "xid",
                sa.BigInteger(),
                server_default=sa.text("pg_current_xact_id()::text::bigint"),
                nullable=False,
            ),
            sa.Column("type", sa.String(64), nullable=False),
            sa.Column("entity_id", sa.String(64), nullable=False),
            sa.Column("household_id", sa.Uuid(), nullable=True),
            sa.Column("region_code", sa.String(12, collation="C"), nullable=False),
            sa.Column(
                "at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
            ),
            sa.Column("data", postgresql.JSONB(), nullable=False),
            sa.PrimaryKeyConstraint("seq", name="pk_webhook_events"),
            schema=schema,
        )
        op.execute(
            f"""
            INSERT INTO {schema}.webhook_events (seq, xid, type, entity_id, household_id,
                                                 region_code, at, data)
            SELECT seq, xid::text::bigint, entity || '.' || op, entity_id, household_id,
                   region_code, at, data
              FROM {schema}.change_log WHERE op IS NOT NULL ORDER BY seq
            """
        )
        _past_sequence(schema, "webhook_events", "seq")
        op.create_index(
            "ix_webhook_events_xid_seq", "webhook_events", ["xid", "seq"], schema=schema
        )
    for schema in SCHEMAS:
        op.execute(f"DROP TABLE {schema}.change_log")  # its triggers with it
        _append_only(schema, "audit_log")
