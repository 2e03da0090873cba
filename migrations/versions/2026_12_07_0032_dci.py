"""DCI Social Registry API: transactions (``txn/status``, kept 30 days), subscriptions,
deliveries (callbacks and notifications, retried in order) and the notifier's change-log
cursor; clients' public signing keys (``clients.jwks``).

Revision ID: 0031_dci
Revises: 0031
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0031_dci"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "dci_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("xid", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_dci_cursors")),
        schema="registry",
    )
    # The notifier starts at the change log's end: subscriptions made from now on.
    op.execute(
        "INSERT INTO registry.dci_cursors (name, xid, seq) SELECT 'notify', "
        "coalesce((SELECT xid::text::bigint FROM registry.change_log ORDER BY xid DESC, seq DESC "
        "LIMIT 1), 0), coalesce((SELECT seq FROM registry.change_log ORDER BY xid DESC, seq DESC "
        "LIMIT 1), 0)"
    )
    op.create_table(
        "dci_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "message_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_id", sa.Uuid(), nullable=True),
        sa.Column("stream", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=40), nullable=True),
        sa.Column("change_seq", sa.BigInteger(), nullable=True),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_deliveries")),
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_deliveries_created_at"),
        "dci_deliveries",
        ["created_at"],
        unique=False,
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_deliveries_next_attempt_at"),
        "dci_deliveries",
        ["next_attempt_at"],
        unique=False,
        schema="registry",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        op.f("ix_dci_deliveries_stream_id"),
        "dci_deliveries",
        ["stream", "id"],
        unique=False,
        schema="registry",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "dci_subscriptions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("region_prefix", sa.String(length=12), nullable=False),
        sa.Column("categories", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("household_nos", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("id_numbers", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("filter", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("filter_key", sa.String(length=64), nullable=False),
        sa.Column("sender_uri", sa.String(length=2000), nullable=False),
        sa.Column("transaction_id", sa.String(length=99), nullable=False),
        sa.Column("reference_id", sa.String(length=99), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_subscriptions")),
        sa.UniqueConstraint("code", name=op.f("uq_dci_subscriptions_code")),
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_subscriptions_client_id_filter_key"),
        "dci_subscriptions",
        ["client_id", "filter_key"],
        unique=False,
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_subscriptions_event_type"),
        "dci_subscriptions",
        ["event_type"],
        unique=False,
        schema="registry",
        postgresql_where=sa.text("status = 'subscribe'"),
    )
    op.create_table(
        "dci_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("transaction_id", sa.String(length=99), nullable=False),
        sa.Column("message_id", sa.String(length=99), nullable=False),
        sa.Column("reference_ids", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("subscription_codes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dci_transactions")),
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_transactions_client_id_transaction_id"),
        "dci_transactions",
        ["client_id", "transaction_id"],
        unique=False,
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_transactions_created_at"),
        "dci_transactions",
        ["created_at"],
        unique=False,
        schema="registry",
    )
    op.create_index(
        op.f("ix_dci_transactions_reference_ids"),
        "dci_transactions",
        ["reference_ids"],
        unique=False,
        schema="registry",
        postgresql_using="gin",
    )
    op.add_column(
        "clients",
        sa.Column(
            "jwks", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        schema="registry",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("clients", "jwks", schema="registry")
    op.drop_index(
        op.f("ix_dci_transactions_reference_ids"),
        table_name="dci_transactions",
        schema="registry",
        postgresql_using="gin",
    )
    op.drop_index(
        op.f("ix_dci_transactions_created_at"), table_name="dci_transactions", schema="registry"
    )
    op.drop_index(
        op.f("ix_dci_transactions_client_id_transaction_id"),
        table_name="dci_transactions",
        schema="registry",
    )
    op.drop_table("dci_transactions", schema="registry")
    op.drop_index(
        op.f("ix_dci_subscriptions_event_type"),
        table_name="dci_subscriptions",
        schema="registry",
        postgresql_where=sa.text("status = 'subscribe'"),
    )
    op.drop_index(
        op.f("ix_dci_subscriptions_client_id_filter_key"),
        table_name="dci_subscriptions",
        schema="registry",
    )
    op.drop_table("dci_subscriptions", schema="registry")
    op.drop_index(
        op.f("ix_dci_deliveries_stream_id"),
        table_name="dci_deliveries",
        schema="registry",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        op.f("ix_dci_deliveries_next_attempt_at"),
        table_name="dci_deliveries",
        schema="registry",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(
        op.f("ix_dci_deliveries_created_at"), table_name="dci_deliveries", schema="registry"
    )
    op.drop_table("dci_deliveries", schema="registry")
    op.drop_table("dci_cursors", schema="registry")
