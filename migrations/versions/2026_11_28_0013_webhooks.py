"""Webhooks: subscriptions, their deliveries (the attempt log) and the dispatcher's cursor.

The registry's events come from its change feed (``registry.change_events``); deliveries
are fanned out from it past ``webhook_cursors`` in the same transaction that moves the
cursor, so no change is missed or sent twice to one subscription.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("registry", "monitoring", "funds")
OUTBOXES = ("monitoring", "funds")  # services without a change feed keep their own outbox


def _tables(schema: str) -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("client_id", sa.String(200), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(12, collation="C"), nullable=False),
        sa.Column("region_prefix", sa.String(12, collation="C"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("status_reason", sa.String(500), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_subscriptions"),
        schema=schema,
    )
    op.create_index(
        "ix_webhook_subscriptions_owner_id",
        "webhook_subscriptions",
        ["owner", "id"],
        schema=schema,
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("event_ref", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_latency_ms", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            [f"{schema}.webhook_subscriptions.id"],
            name="fk_webhook_deliveries_subscription_id_webhook_subscriptions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        schema=schema,
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_id_event_ref",
        "webhook_deliveries",
        ["subscription_id", "event_ref"],
        unique=True,
        schema=schema,
    )
    op.create_index(
        "ix_webhook_deliveries_subscription_id_id",
        "webhook_deliveries",
        ["subscription_id", "id"],
        schema=schema,
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["subscription_id", "next_attempt_at"],
        schema=schema,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_cursors",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", name="pk_webhook_cursors"),
        schema=schema,
    )


def _outbox(schema: str) -> None:
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
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_webhook_events"),
        schema=schema,
    )
    op.create_index("ix_webhook_events_xid_seq", "webhook_events", ["xid", "seq"], schema=schema)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in SCHEMAS:
        _tables(schema)
    for schema in OUTBOXES:
        _outbox(schema)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in OUTBOXES:
        op.drop_table("webhook_events", schema=schema)
    for schema in SCHEMAS:
        op.drop_table("webhook_cursors", schema=schema)
        op.drop_table("webhook_deliveries", schema=schema)
        op.drop_table("webhook_subscriptions", schema=schema)
