"""The funds schema.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("allocations", "payments", "asset_income", "distributions", "distribution_shares")


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("CREATE SCHEMA IF NOT EXISTS funds")
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
        schema="funds",
    )
    op.create_index(
        op.f("ix_audit_log_actor_id"), "audit_log", ["actor", "id"], unique=False, schema="funds"
    )
    op.create_index(
        op.f("ix_audit_log_entity_id_id"),
        "audit_log",
        ["entity_id", "id"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_audit_log_household_id_id"),
        "audit_log",
        ["household_id", "id"],
        unique=False,
        schema="funds",
        postgresql_where="household_id IS NOT NULL",
    )
    op.create_index(
        op.f("ix_audit_log_region_code_id"),
        "audit_log",
        ["region_code", "id"],
        unique=False,
        schema="funds",
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
        schema="funds",
    )
    op.create_table(
        "compliance_scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("opened", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_scans")),
        schema="funds",
    )
    op.create_table(
        "findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.String(length=100), nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scan_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_findings_region_code_status"),
        "findings",
        ["region_code", "status"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_findings_rule_subject_id"),
        "findings",
        ["rule", "subject_id"],
        unique=True,
        schema="funds",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "funds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("document_no", sa.String(length=100), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source IN ('central', 'provincial', 'city', 'county', 'east_west', 'donation', 'financial')",
            name=op.f("ck_funds_source"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_funds_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_funds")),
        sa.UniqueConstraint("document_no", name=op.f("uq_funds_document_no")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_funds_region_code_fiscal_year"),
        "funds",
        ["region_code", "fiscal_year"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_type", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("content", sa.String(length=5000), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "purpose IN ('plan','results','other')", name=op.f("ck_notices_purpose")
        ),
        sa.CheckConstraint("ends_on >= starts_on", name=op.f("ck_notices_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_notices_region_code_ends_on"),
        "notices",
        ["region_code", "ends_on"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_notices_subject_id_purpose_ends_on"),
        "notices",
        ["subject_id", "purpose", "ends_on"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "policies",
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("notice_days", sa.Integer(), nullable=False),
        sa.Column("idle_days", sa.Integer(), nullable=False),
        sa.Column("stall_days", sa.Integer(), nullable=False),
        sa.Column("results_notice_days", sa.Integer(), nullable=False),
        sa.Column("asset_idle_days", sa.Integer(), nullable=False),
        sa.Column("undistributed_days", sa.Integer(), nullable=False),
        sa.Column("industry_share_min", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("industry_share_keep_previous", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "year", name=op.f("pk_policies")),
        schema="funds",
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('industry', 'infrastructure', 'employment', 'education', 'health', 'housing', 'drinking_water', 'other')",
            name=op.f("ck_projects_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('proposed', 'approved', 'in_progress', 'completed', 'accepted', 'cancelled')",
            name=op.f("ck_projects_status"),
        ),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_projects_budget_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_projects_region_code_status_kind"),
        "projects",
        ["region_code", "status", "kind"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_projects_status_status_changed_at"),
        "projects",
        ["status", "status_changed_at"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fund_id", sa.Uuid(), nullable=False),
        sa.Column("from_region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("purpose", sa.String(length=300), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_allocations_amount_positive")),
        sa.CheckConstraint("region_code <> from_region_code", name=op.f("ck_allocations_onward")),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.funds.id"], name=op.f("fk_allocations_fund_id_funds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_allocations_fund_id_from_region_code"),
        "allocations",
        ["fund_id", "from_region_code"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_allocations_fund_id_region_code"),
        "allocations",
        ["fund_id", "region_code"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_allocations_region_code_fiscal_year"),
        "allocations",
        ["region_code", "fiscal_year"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "assets",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("owner_type", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("custodian", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disposal_method", sa.String(length=20), nullable=True),
        sa.Column("disposal_reason", sa.String(length=500), nullable=True),
        sa.Column("disposal_requested_by", sa.String(length=100), nullable=True),
        sa.Column("disposal_approved_by", sa.String(length=100), nullable=True),
        sa.Column("disposal_proceeds", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("disposed_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('operating', 'public_welfare', 'household')", name=op.f("ck_assets_kind")
        ),
        sa.CheckConstraint(
            "owner_type IN ('village_collective', 'household', 'other')",
            name=op.f("ck_assets_owner_type"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'disposal_requested', 'disposal_approved', 'disposed')",
            name=op.f("ck_assets_status"),
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_assets_value_non_negative")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["funds.projects.id"], name=op.f("fk_assets_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assets")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_assets_project_id"), "assets", ["project_id"], unique=False, schema="funds"
    )
    op.create_index(
        op.f("ix_assets_region_code_kind"),
        "assets",
        ["region_code", "kind"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("fund_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("payee", sa.String(length=200), nullable=False),
        sa.Column("voucher_no", sa.String(length=100), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name=op.f("ck_payments_sign"),
        ),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.funds.id"], name=op.f("fk_payments_fund_id_funds")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["funds.projects.id"], name=op.f("fk_payments_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"], ["funds.payments.id"], name=op.f("fk_payments_reverses_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_payments_reverses_id")),
        sa.UniqueConstraint("seq", name=op.f("uq_payments_seq")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_payments_fund_id_region_code"),
        "payments",
        ["fund_id", "region_code"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_payments_household_id"),
        "payments",
        ["household_id"],
        unique=False,
        schema="funds",
        postgresql_where="household_id IS NOT NULL",
    )
    op.create_index(
        op.f("ix_payments_project_id_paid_on"),
        "payments",
        ["project_id", "paid_on"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_payments_project_id_voucher_no"),
        "payments",
        ["project_id", "voucher_no"],
        unique=True,
        schema="funds",
    )
    op.create_table(
        "project_beneficiaries",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["funds.projects.id"],
            name=op.f("fk_project_beneficiaries_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "household_id", name=op.f("pk_project_beneficiaries")
        ),
        schema="funds",
    )
    op.create_index(
        op.f("ix_project_beneficiaries_household_id"),
        "project_beneficiaries",
        ["household_id"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "project_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["funds.projects.id"],
            name=op.f("fk_project_events_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_events")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_project_events_project_id_id"),
        "project_events",
        ["project_id", "id"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "project_funds",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("fund_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["fund_id"], ["funds.funds.id"], name=op.f("fk_project_funds_fund_id_funds")
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["funds.projects.id"], name=op.f("fk_project_funds_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("project_id", "fund_id", name=op.f("pk_project_funds")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_project_funds_fund_id"), "project_funds", ["fund_id"], unique=False, schema="funds"
    )
    op.create_table(
        "asset_income",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_asset_income_amount_positive")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["funds.assets.id"], name=op.f("fk_asset_income_asset_id_assets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_income")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_asset_income_asset_id_period"),
        "asset_income",
        ["asset_id", "period"],
        unique=True,
        schema="funds",
    )
    op.create_index(
        op.f("ix_asset_income_region_code"),
        "asset_income",
        ["region_code"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "distributions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("income_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["funds.assets.id"], name=op.f("fk_distributions_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["income_id"],
            ["funds.asset_income.id"],
            name=op.f("fk_distributions_income_id_asset_income"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributions")),
        sa.UniqueConstraint("income_id", name=op.f("uq_distributions_income_id")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_distributions_asset_id"),
        "distributions",
        ["asset_id"],
        unique=False,
        schema="funds",
    )
    op.create_table(
        "distribution_shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("distribution_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("recipient_type", sa.String(length=20), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Numeric(precision=14, scale=4), nullable=True),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint(
            "(recipient_type = 'household') = (household_id IS NOT NULL)",
            name=op.f("ck_distribution_shares_household"),
        ),
        sa.CheckConstraint(
            "recipient_type IN ('household', 'public_welfare_job', 'village_works')",
            name=op.f("ck_distribution_shares_recipient_type"),
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_distribution_shares_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["funds.assets.id"], name=op.f("fk_distribution_shares_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["distribution_id"],
            ["funds.distributions.id"],
            name=op.f("fk_distribution_shares_distribution_id_distributions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distribution_shares")),
        schema="funds",
    )
    op.create_index(
        op.f("ix_distribution_shares_distribution_id"),
        "distribution_shares",
        ["distribution_id"],
        unique=False,
        schema="funds",
    )
    op.create_index(
        op.f("ix_distribution_shares_household_id"),
        "distribution_shares",
        ["household_id"],
        unique=False,
        schema="funds",
        postgresql_where="household_id IS NOT NULL",
    )

    # Entries are append-only: a correction is a new entry, never an edit.
    op.execute(
        """
        CREATE FUNCTION funds.refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only: record a correcting entry instead', TG_TABLE_NAME
                USING ERRCODE = '23514';
        END $$
        """
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON funds.{table} "
            "FOR EACH ROW EXECUTE FUNCTION funds.refuse_update()"
        )
    # Shipped policy (domain.md section 5): notices 10 days, idle funds 90 days, central
    # funds' industry share at least 55 % in 2021-2022 (and not below the previous year's),
    # 60 % from 2023.
    op.execute(
        "INSERT INTO funds.policies (region_code, year, notice_days, idle_days, stall_days, "
        "results_notice_days, asset_idle_days, undistributed_days, industry_share_min, "
        "industry_share_keep_previous) VALUES "
        "('520000000000', 2021, 10, 90, 180, 30, 365, 90, 0.55, true), "
        "('520000000000', 2023, 10, 90, 180, 30, 365, 90, 0.60, false)"
    )


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON funds.{table}")
    op.execute("DROP FUNCTION IF EXISTS funds.refuse_update()")
    op.drop_index(
        op.f("ix_distribution_shares_household_id"),
        table_name="distribution_shares",
        schema="funds",
        postgresql_where="household_id IS NOT NULL",
    )
    op.drop_index(
        op.f("ix_distribution_shares_distribution_id"),
        table_name="distribution_shares",
        schema="funds",
    )
    op.drop_table("distribution_shares", schema="funds")
    op.drop_index(op.f("ix_distributions_asset_id"), table_name="distributions", schema="funds")
    op.drop_table("distributions", schema="funds")
    op.drop_index(op.f("ix_asset_income_region_code"), table_name="asset_income", schema="funds")
    op.drop_index(
        op.f("ix_asset_income_asset_id_period"), table_name="asset_income", schema="funds"
    )
    op.drop_table("asset_income", schema="funds")
    op.drop_index(op.f("ix_project_funds_fund_id"), table_name="project_funds", schema="funds")
    op.drop_table("project_funds", schema="funds")
    op.drop_index(
        op.f("ix_project_events_project_id_id"), table_name="project_events", schema="funds"
    )
    op.drop_table("project_events", schema="funds")
    op.drop_index(
        op.f("ix_project_beneficiaries_household_id"),
        table_name="project_beneficiaries",
        schema="funds",
    )
    op.drop_table("project_beneficiaries", schema="funds")
    op.drop_index(op.f("ix_payments_project_id_voucher_no"), table_name="payments", schema="funds")
    op.drop_index(op.f("ix_payments_project_id_paid_on"), table_name="payments", schema="funds")
    op.drop_index(
        op.f("ix_payments_household_id"),
        table_name="payments",
        schema="funds",
        postgresql_where="household_id IS NOT NULL",
    )
    op.drop_index(op.f("ix_payments_fund_id_region_code"), table_name="payments", schema="funds")
    op.drop_table("payments", schema="funds")
    op.drop_index(op.f("ix_assets_region_code_kind"), table_name="assets", schema="funds")
    op.drop_index(op.f("ix_assets_project_id"), table_name="assets", schema="funds")
    op.drop_table("assets", schema="funds")
    op.drop_index(
        op.f("ix_allocations_region_code_fiscal_year"), table_name="allocations", schema="funds"
    )
    op.drop_index(
        op.f("ix_allocations_fund_id_region_code"), table_name="allocations", schema="funds"
    )
    op.drop_index(
        op.f("ix_allocations_fund_id_from_region_code"), table_name="allocations", schema="funds"
    )
    op.drop_table("allocations", schema="funds")
    op.drop_index(
        op.f("ix_projects_status_status_changed_at"), table_name="projects", schema="funds"
    )
    op.drop_index(
        op.f("ix_projects_region_code_status_kind"), table_name="projects", schema="funds"
    )
    op.drop_table("projects", schema="funds")
    op.drop_table("policies", schema="funds")
    op.drop_index(
        op.f("ix_notices_subject_id_purpose_ends_on"), table_name="notices", schema="funds"
    )
    op.drop_index(op.f("ix_notices_region_code_ends_on"), table_name="notices", schema="funds")
    op.drop_table("notices", schema="funds")
    op.drop_index(op.f("ix_funds_region_code_fiscal_year"), table_name="funds", schema="funds")
    op.drop_table("funds", schema="funds")
    op.drop_index(
        op.f("ix_findings_rule_subject_id"),
        table_name="findings",
        schema="funds",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_findings_region_code_status"), table_name="findings", schema="funds")
    op.drop_table("findings", schema="funds")
    op.drop_table("compliance_scans", schema="funds")
    op.drop_table("idempotency_keys", schema="funds")
    op.drop_table("audit_log", schema="funds")
    op.execute("DROP SCHEMA IF EXISTS funds")
