"""Jobs that always finish or say why: an outbox per schema, heartbeats on long work.

- ``job_outbox`` (registry, monitoring, funds): jobs written in the transaction of their
  work and handed to ARQ after commit by the writer or the worker's relay.
- ``heartbeat_at`` and ``attempts`` on imports, scan counties and compliance scans, read by
  the sweeper; imports also keep which chunks are loaded (a resumed import skips them), scans
  the registry feed position they saw, compliance scans why they failed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMAS = ("registry", "monitoring", "funds")
LIVENESS = (("registry", "imports"), ("monitoring", "scan_counties"), ("funds", "compliance_scans"))


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema in SCHEMAS:
        op.create_table(
            "job_outbox",
            sa.Column("id", sa.Uuid(), nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
            sa.Column(
                "kwargs",
                postgresql.JSONB(astext_type=sa.Text()),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
            sa.Column("job_id", sa.String(length=200), nullable=False),
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=False,
            ),
            sa.Column("send_attempts", sa.Integer(), server_default="0", nullable=False),
            sa.Column("last_error", sa.String(length=300), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_job_outbox")),
            schema=schema,
        )
    for schema, table in LIVENESS:
        op.add_column(
            table,
            sa.Column(
                "heartbeat_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=False,
            ),
            schema=schema,
        )
        op.add_column(
            table,
            sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
            schema=schema,
        )
    op.add_column(
        "imports", sa.Column("chunks_total", sa.Integer(), nullable=True), schema="registry"
    )
    op.add_column(
        "imports",
        sa.Column(
            "chunks_done",
            postgresql.ARRAY(sa.Integer()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        schema="registry",
    )
    op.add_column(
        "scans",
        sa.Column("feed_position", sa.String(length=100), nullable=True),
        schema="monitoring",
    )
    op.add_column(
        "compliance_scans",
        sa.Column("error", sa.String(length=500), nullable=True),
        schema="funds",
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("compliance_scans", "error", schema="funds")
    op.drop_column("scans", "feed_position", schema="monitoring")
    op.drop_column("imports", "chunks_done", schema="registry")
    op.drop_column("imports", "chunks_total", schema="registry")
    for schema, table in LIVENESS:
        op.drop_column(table, "attempts", schema=schema)
        op.drop_column(table, "heartbeat_at", schema=schema)
    for schema in SCHEMAS:
        op.drop_table("job_outbox", schema=schema)
