"""Offline batches: each service's kept batch-item answers, and the batch on the change log.

``<schema>.batch_items`` keeps the first answer to each item a caller sent in
``POST /v1/batches`` (registry and monitoring), keyed by the caller and the client's
``item_id`` with the content's hash, so a resend gets the same answer and a changed resend a
409. Every change log (the mixin is shared, so funds' too) gains the nullable ``batch_id`` and
``batch_item_id`` of the batch item that made a change: adding nullable columns rewrites
nothing.

Revision ID: 0033
Revises: 0031_dci
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0033"
down_revision: str | None = "0031_dci"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE_LOGS = ("registry", "monitoring", "funds")
BATCHES = ("registry", "monitoring")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in CHANGE_LOGS:
        op.add_column("change_log", sa.Column("batch_id", sa.Uuid(), nullable=True), schema=schema)
        op.add_column(
            "change_log", sa.Column("batch_item_id", sa.Uuid(), nullable=True), schema=schema
        )
    for schema in BATCHES:
        op.create_table(
            "batch_items",
            sa.Column("caller", sa.String(120), nullable=False),
            sa.Column("item_id", sa.Uuid(), nullable=False),
            sa.Column("content_hash", sa.String(64), nullable=False),
            sa.Column("batch_id", sa.Uuid(), nullable=False),
            sa.Column("status_code", sa.Integer(), nullable=False),
            sa.Column("answer", postgresql.JSONB(), nullable=False),
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=False,
            ),
            sa.PrimaryKeyConstraint("caller", "item_id", name="pk_batch_items"),
            schema=schema,
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in BATCHES:
        op.drop_table("batch_items", schema=schema)
    for schema in CHANGE_LOGS:
        op.drop_column("change_log", "batch_item_id", schema=schema)
        op.drop_column("change_log", "batch_id", schema=schema)
