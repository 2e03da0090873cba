"""Append-only ledgers in the database itself, and the second confirmation of large payments.

- Payments, the other funds ledger entries (allocations, asset income, distributions and
  their shares, payment confirmations) and the audit log of every schema refuse UPDATE,
  DELETE and TRUNCATE by trigger, so not even the owner's mistake removes a row. Before,
  the funds ledgers refused only UPDATE and the audit logs nothing.
- Duties kept apart (domain.md section 8): a payment above the funds policy's
  ``payment_confirmation_threshold`` (50,000.00 yuan shipped) counts as paid only once a
  second county account confirmed it: ``funds.payments.needs_confirmation`` and the
  append-only ``funds.payment_confirmations``.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The funds ledgers 0003 protected against UPDATE only.
FUNDS_LEDGERS = ("allocations", "payments", "asset_income", "distributions", "distribution_shares")
# (schema, table) of every append-only table after this revision.
APPEND_ONLY = (
    *[("funds", t) for t in FUNDS_LEDGERS],
    ("funds", "payment_confirmations"),
    ("funds", "audit_log"),
    ("registry", "audit_log"),
    ("monitoring", "audit_log"),
)
SCHEMAS = ("registry", "monitoring", "funds")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "payments",
        sa.Column("needs_confirmation", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="funds",
    )
    op.add_column(
        "policies",
        sa.Column(
            "payment_confirmation_threshold",
            sa.Numeric(precision=14, scale=2),
            server_default="50000.00",
            nullable=False,
        ),
        schema="funds",
    )
    op.create_table(
        "payment_confirmations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("confirmed_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"],
            ["funds.payments.id"],
            name=op.f("fk_payment_confirmations_payment_id_payments"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["funds.projects.id"],
            name=op.f("fk_payment_confirmations_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_confirmations")),
        sa.UniqueConstraint("payment_id", name=op.f("uq_payment_confirmations_payment_id")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_payment_confirmations_project_id"),
        "payment_confirmations",
        ["project_id"],
        unique=False,
        schema="funds",
    )

    for table in FUNDS_LEDGERS:
        op.execute(f"DROP TRIGGER {table}_append_only ON funds.{table}")
    for schema in SCHEMAS:
        # One function per schema, so each service's schema stands on its own.
        op.execute(
            f"""
            CREATE FUNCTION {schema}.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '%.% is append-only: % refused (record a correcting entry)',
                    TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP USING ERRCODE = '23514';
            END $$
            """
        )
    for schema, table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {schema}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {schema}.refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {schema}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.refuse_change()"
        )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for schema, table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {schema}.{table}")
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {schema}.{table}")
    for schema in SCHEMAS:
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.refuse_change()")
    # Back to 0003: the funds ledgers refuse UPDATE only.
    for table in FUNDS_LEDGERS:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON funds.{table} "
            "FOR EACH ROW EXECUTE FUNCTION funds.refuse_update()"
        )
    op.drop_index(
        op.f("ix_payment_confirmations_project_id"),
        table_name="payment_confirmations",
        schema="funds",
    )
    op.drop_table("payment_confirmations", schema="funds")
    op.drop_column("policies", "payment_confirmation_threshold", schema="funds")
    op.drop_column("payments", "needs_confirmation", schema="funds")
