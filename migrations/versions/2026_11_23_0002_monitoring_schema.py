"""The monitoring schema.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("CREATE SCHEMA IF NOT EXISTS monitoring")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("old", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_audit_log_actor_id"),
        "audit_log",
        ["actor", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_audit_log_entity_id_id"),
        "audit_log",
        ["entity_id", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_audit_log_household_id_id"),
        "audit_log",
        ["household_id", "id"],
        unique=False,
        schema="monitoring",
        postgresql_where="household_id IS NOT NULL",
    )
    op.create_index(
        op.f("ix_audit_log_region_code_id"),
        "audit_log",
        ["region_code", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=300), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
        schema="monitoring",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("idempotency_keys", schema="monitoring")
    op.drop_table("audit_log", schema="monitoring")
    op.execute("DROP SCHEMA IF EXISTS monitoring")
