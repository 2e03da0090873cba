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
    _create_tables()
    _seed_policy()


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _drop_tables()
    op.drop_table("idempotency_keys", schema="monitoring")
    op.drop_table("audit_log", schema="monitoring")
    op.execute("DROP SCHEMA IF EXISTS monitoring")


def _seed_policy() -> None:
    """Guizhou 2021: the national monitoring line of 6,000 yuan and domain.md's defaults.
    Later years are set by operators through ``PUT /v1/policy/{year}``."""
    op.execute(
        """
        INSERT INTO monitoring.policies
            (id, region_code, year, monitoring_line, income_drop_ratio, rigid_expense_ratio,
             medical_expense_threshold, medical_expense_threshold_other, notice_days,
             identification_deadline_days, min_months_before_elimination, rules, version)
        VALUES (gen_random_uuid(), '520000000000', 2021, 6000.00, 0.30, 0.50, 5000.00,
                20000.00, 5, 15, 6,
                '{"income_below_line": true, "income_drop": true, "rigid_expense": true,
                  "guarantee_lost": true, "labour_loss": true, "medical_expense": true,
                  "department_signal": true, "eligibility_anomaly": true}'::jsonb, 1)
        """
    )


def _create_tables() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=10), server_default="case", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("figures", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("policy_year", sa.SmallInteger(), nullable=False),
        sa.Column("scan_id", sa.Uuid(), nullable=True),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "figures_updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=200), nullable=True),
        sa.Column("closed_by_scan_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        schema="monitoring",
    )
    op.create_index(
        "ix_alerts_open_rule_region",
        "alerts",
        ["rule", "region_code"],
        unique=False,
        schema="monitoring",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index(
        op.f("ix_alerts_region_code_id"),
        "alerts",
        ["region_code", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        "uq_alerts_open_household_rule",
        "alerts",
        ["household_id", "rule"],
        unique=True,
        schema="monitoring",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_stage", sa.String(length=24), nullable=True),
        sa.Column("to_stage", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=2000), nullable=False),
        sa.Column("evidence", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_case_events_case_id_id"),
        "case_events",
        ["case_id", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("alert_id", sa.Uuid(), nullable=True),
        sa.Column("declaration_code", sa.String(length=20), nullable=True),
        sa.Column("stage", sa.String(length=24), nullable=False),
        sa.Column("policy_year", sa.SmallInteger(), nullable=False),
        sa.Column("monitored_type", sa.SmallInteger(), nullable=True),
        sa.Column("risk_types", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("category_before", sa.String(length=32), nullable=True),
        sa.Column("monitored_since", sa.Date(), nullable=True),
        sa.Column("notice_starts_on", sa.Date(), nullable=True),
        sa.Column("notice_ends_on", sa.Date(), nullable=True),
        sa.Column("elimination_method", sa.String(length=10), nullable=True),
        sa.Column(
            "stage_entered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalated_to", sa.String(length=12), nullable=True),
        sa.Column("escalated_level", sa.String(length=10), nullable=True),
        sa.Column("opened_by", sa.String(length=100), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_cases_region_code_id"),
        "cases",
        ["region_code", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_cases_stage_due_at"),
        "cases",
        ["stage", "due_at"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        "uq_cases_open_household",
        "cases",
        ["household_id"],
        unique=True,
        schema="monitoring",
        postgresql_where=sa.text(
            "household_id IS NOT NULL AND stage NOT IN ('eliminated', 'rejected')"
        ),
    )
    op.create_table(
        "declarations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tracking_code", sa.String(length=20), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_declarations")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_declarations_tracking_code")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_declarations_id_number"),
        "declarations",
        ["id_number"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_declarations_region_code_created_at"),
        "declarations",
        ["region_code", "created_at"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "economics",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("net_income", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("rigid_expenses", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("medical_out_of_pocket", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("resident_members", sa.SmallInteger(), nullable=False),
        sa.Column("per_capita_net_income", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "year", name=op.f("pk_economics")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_economics_region_code_year"),
        "economics",
        ["region_code", "year"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "feed_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("cursor", sa.String(length=200), nullable=False),
        sa.Column("events_applied", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursors")),
        schema="monitoring",
    )
    op.create_table(
        "guarantees",
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("household_id", "kind", name=op.f("pk_guarantees")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_guarantees_region_code"),
        "guarantees",
        ["region_code"],
        unique=False,
        schema="monitoring",
        postgresql_where=sa.text("NOT ok"),
    )
    op.create_table(
        "households",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("household_no", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("relocated", sa.Boolean(), nullable=False),
        sa.Column("at_risk", sa.Boolean(), nullable=False),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_households_changed_at"),
        "households",
        ["changed_at"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_households_region_code_id"),
        "households",
        ["region_code", "id"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "measures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=True),
        sa.Column("case_id", sa.Uuid(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measures")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_measures_household_id"),
        "measures",
        ["household_id"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("relation", sa.String(length=16), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("in_school", sa.Boolean(), nullable=False),
        sa.Column("schooling_stage", sa.String(length=20), nullable=True),
        sa.Column("health", sa.String(length=16), nullable=False),
        sa.Column("disability_grade", sa.SmallInteger(), nullable=False),
        sa.Column("labour_capacity", sa.String(length=16), nullable=False),
        sa.Column("medical_insurance", sa.Boolean(), nullable=False),
        sa.Column("dibao", sa.Boolean(), nullable=False),
        sa.Column("tekun", sa.Boolean(), nullable=False),
        sa.Column("departed_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_members_household_id"),
        "members",
        ["household_id"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_members_id_number"),
        "members",
        ["id_number"],
        unique=False,
        schema="monitoring",
        postgresql_where=sa.text("id_number IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_members_region_code"),
        "members",
        ["region_code"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("monitoring_line", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("income_drop_ratio", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("rigid_expense_ratio", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("medical_expense_threshold", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column(
            "medical_expense_threshold_other", sa.Numeric(precision=14, scale=2), nullable=False
        ),
        sa.Column("notice_days", sa.SmallInteger(), nullable=False),
        sa.Column("identification_deadline_days", sa.SmallInteger(), nullable=False),
        sa.Column("min_months_before_elimination", sa.SmallInteger(), nullable=False),
        sa.Column("rules", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
            "income_drop_ratio BETWEEN 0 AND 1", name=op.f("ck_policies_drop_ratio")
        ),
        sa.CheckConstraint("monitoring_line >= 0", name=op.f("ck_policies_line_not_negative")),
        sa.CheckConstraint(
            "rigid_expense_ratio BETWEEN 0 AND 1", name=op.f("ck_policies_rigid_ratio")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("region_code", "year", name=op.f("uq_policies_region_code_year")),
        schema="monitoring",
    )
    op.create_table(
        "scan_counties",
        sa.Column("scan_id", sa.Uuid(), nullable=False),
        sa.Column("county_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("households_examined", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("alerts_closed", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("scan_id", "county_code", name=op.f("pk_scan_counties")),
        schema="monitoring",
    )
    op.create_table(
        "scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("counties_total", sa.Integer(), nullable=False),
        sa.Column("counties_done", sa.Integer(), nullable=False),
        sa.Column("households_examined", sa.Integer(), nullable=False),
        sa.Column("alerts_raised", sa.Integer(), nullable=False),
        sa.Column("alerts_closed", sa.Integer(), nullable=False),
        sa.Column(
            "requested_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_scans_region_code_requested_at"),
        "scans",
        ["region_code", "requested_at"],
        unique=False,
        schema="monitoring",
    )
    op.create_table(
        "signals",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=True),
        sa.Column("claimed_household_id", sa.Uuid(), nullable=True),
        sa.Column("household_id", sa.Uuid(), nullable=True),
        sa.Column("region_code", sa.String(length=12, collation="C"), nullable=False),
        sa.Column("amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("submitted_by", sa.String(length=100), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
        sa.UniqueConstraint("source", "external_ref", name=op.f("uq_signals_source_external_ref")),
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_signals_claimed_household_id"),
        "signals",
        ["claimed_household_id"],
        unique=False,
        schema="monitoring",
        postgresql_where=sa.text("household_id IS NULL"),
    )
    op.create_index(
        op.f("ix_signals_household_id_occurred_on"),
        "signals",
        ["household_id", "occurred_on"],
        unique=False,
        schema="monitoring",
    )
    op.create_index(
        op.f("ix_signals_id_number"),
        "signals",
        ["id_number"],
        unique=False,
        schema="monitoring",
        postgresql_where=sa.text("household_id IS NULL"),
    )
    op.create_index(
        op.f("ix_signals_region_code_id"),
        "signals",
        ["region_code", "id"],
        unique=False,
        schema="monitoring",
    )


def _drop_tables() -> None:
    op.drop_index(op.f("ix_signals_region_code_id"), table_name="signals", schema="monitoring")
    op.drop_index(
        op.f("ix_signals_id_number"),
        table_name="signals",
        schema="monitoring",
        postgresql_where=sa.text("household_id IS NULL"),
    )
    op.drop_index(
        op.f("ix_signals_household_id_occurred_on"), table_name="signals", schema="monitoring"
    )
    op.drop_index(
        op.f("ix_signals_claimed_household_id"),
        table_name="signals",
        schema="monitoring",
        postgresql_where=sa.text("household_id IS NULL"),
    )
    op.drop_table("signals", schema="monitoring")
    op.drop_index(
        op.f("ix_scans_region_code_requested_at"), table_name="scans", schema="monitoring"
    )
    op.drop_table("scans", schema="monitoring")
    op.drop_table("scan_counties", schema="monitoring")
    op.drop_table("policies", schema="monitoring")
    op.drop_index(op.f("ix_members_region_code"), table_name="members", schema="monitoring")
    op.drop_index(
        op.f("ix_members_id_number"),
        table_name="members",
        schema="monitoring",
        postgresql_where=sa.text("id_number IS NOT NULL"),
    )
    op.drop_index(op.f("ix_members_household_id"), table_name="members", schema="monitoring")
    op.drop_table("members", schema="monitoring")
    op.drop_index(op.f("ix_measures_household_id"), table_name="measures", schema="monitoring")
    op.drop_table("measures", schema="monitoring")
    op.drop_index(
        op.f("ix_households_region_code_id"), table_name="households", schema="monitoring"
    )
    op.drop_index(op.f("ix_households_changed_at"), table_name="households", schema="monitoring")
    op.drop_table("households", schema="monitoring")
    op.drop_index(
        op.f("ix_guarantees_region_code"),
        table_name="guarantees",
        schema="monitoring",
        postgresql_where=sa.text("NOT ok"),
    )
    op.drop_table("guarantees", schema="monitoring")
    op.drop_table("feed_cursors", schema="monitoring")
    op.drop_index(
        op.f("ix_economics_region_code_year"), table_name="economics", schema="monitoring"
    )
    op.drop_table("economics", schema="monitoring")
    op.drop_index(
        op.f("ix_declarations_region_code_created_at"),
        table_name="declarations",
        schema="monitoring",
    )
    op.drop_index(op.f("ix_declarations_id_number"), table_name="declarations", schema="monitoring")
    op.drop_table("declarations", schema="monitoring")
    op.drop_index(
        "uq_cases_open_household",
        table_name="cases",
        schema="monitoring",
        postgresql_where=sa.text(
            "household_id IS NOT NULL AND stage NOT IN ('eliminated', 'rejected')"
        ),
    )
    op.drop_index(op.f("ix_cases_stage_due_at"), table_name="cases", schema="monitoring")
    op.drop_index(op.f("ix_cases_region_code_id"), table_name="cases", schema="monitoring")
    op.drop_table("cases", schema="monitoring")
    op.drop_index(op.f("ix_case_events_case_id_id"), table_name="case_events", schema="monitoring")
    op.drop_table("case_events", schema="monitoring")
    op.drop_index(
        "uq_alerts_open_household_rule",
        table_name="alerts",
        schema="monitoring",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index(op.f("ix_alerts_region_code_id"), table_name="alerts", schema="monitoring")
    op.drop_index(
        "ix_alerts_open_rule_region",
        table_name="alerts",
        schema="monitoring",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_table("alerts", schema="monitoring")
