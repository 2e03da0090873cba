"""Duplicates the ID check cannot see (issue 26): the review's tables and the indexes of the
check at entry.

``registry.duplicate_scans`` is one scan of a region (an ARQ job: status, progress, counts);
``registry.duplicate_pairs`` one pair of member records that may be one person, with the
matcher's probability and each field's weight, kept once per pair (``member_a`` <
``member_b``) so a dismissed pair is never proposed again; both carry ``region_code``.
``imports.duplicate_warnings`` keeps an import's rows whose member may already be
registered (the check at entry, a warning column of the report). ``members.duplicate_of`` names the record kept when a member departs as a duplicate. The
check at entry looks up candidates by birth date and by two slices of the ID number, each
indexed (built once; a registry of a million members takes seconds).

Revision ID: 0042_duplicates
Revises: 0046_dci_notify_position
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0042_duplicates"
down_revision: str | None = "0046_dci_notify_position"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "registry"


def _timestamps() -> list[sa.Column]:
    return [
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
    ]


def _region(name: str = "region_code") -> sa.Column:
    return sa.Column(name, sa.String(12, collation="C"), nullable=False)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("members", sa.Column("duplicate_of", sa.Uuid(), nullable=True), schema=S)
    op.add_column(
        "imports",
        sa.Column(
            "duplicate_warnings",
            postgresql.JSONB(),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema=S,
    )
    op.create_foreign_key(
        "fk_members_duplicate_of_members",
        "members",
        "members",
        ["duplicate_of"],
        ["id"],
        source_schema=S,
        referent_schema=S,
    )
    op.create_index("ix_members_birth_date", "members", ["birth_date"], schema=S)
    op.create_index(
        "ix_members_id_number_head", "members", [sa.text("left(id_number, 10)")], schema=S
    )
    op.create_index(
        "ix_members_id_number_tail", "members", [sa.text("substr(id_number, 13, 5)")], schema=S
    )
    op.create_table(
        "duplicate_scans",
        sa.Column("id", sa.Uuid(), nullable=False),
        _region(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('queued','running','done','failed')", name="ck_duplicate_scans_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_scans"),
        schema=S,
    )
    op.create_index(
        "ix_duplicate_scans_region_code_created_at",
        "duplicate_scans",
        ["region_code", "created_at"],
        schema=S,
    )
    op.create_table(
        "duplicate_pairs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("member_a", sa.Uuid(), nullable=False),
        sa.Column("member_b", sa.Uuid(), nullable=False),
        sa.Column("household_a", sa.Uuid(), nullable=False),
        sa.Column("household_b", sa.Uuid(), nullable=False),
        _region(),
        _region("other_region_code"),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("scan_id", sa.Uuid(), nullable=True),
        sa.Column("kept_member_id", sa.Uuid(), nullable=True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("member_a < member_b", name="ck_duplicate_pairs_ordered"),
        sa.CheckConstraint(
            "status IN ('open','confirmed','dismissed')", name="ck_duplicate_pairs_status"
        ),
        sa.ForeignKeyConstraint(
            ["member_a"], [f"{S}.members.id"], name="fk_duplicate_pairs_member_a_members"
        ),
        sa.ForeignKeyConstraint(
            ["member_b"], [f"{S}.members.id"], name="fk_duplicate_pairs_member_b_members"
        ),
        sa.ForeignKeyConstraint(
            ["household_a"],
            [f"{S}.households.id"],
            name="fk_duplicate_pairs_household_a_households",
        ),
        sa.ForeignKeyConstraint(
            ["household_b"],
            [f"{S}.households.id"],
            name="fk_duplicate_pairs_household_b_households",
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"],
            [f"{S}.duplicate_scans.id"],
            name="fk_duplicate_pairs_scan_id_duplicate_scans",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_pairs"),
        sa.UniqueConstraint("member_a", "member_b", name="uq_duplicate_pairs_member_a_member_b"),
        schema=S,
    )
    op.create_index(
        "ix_duplicate_pairs_region_code_status_probability",
        "duplicate_pairs",
        ["region_code", "status", "probability"],
        schema=S,
    )
    op.create_index("ix_duplicate_pairs_member_b", "duplicate_pairs", ["member_b"], schema=S)


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_table("duplicate_pairs", schema=S)
    op.drop_table("duplicate_scans", schema=S)
    op.drop_index("ix_members_id_number_tail", "members", schema=S)
    op.drop_index("ix_members_id_number_head", "members", schema=S)
    op.drop_index("ix_members_birth_date", "members", schema=S)
    op.drop_constraint("fk_members_duplicate_of_members", "members", schema=S, type_="foreignkey")
    op.drop_column("members", "duplicate_of", schema=S)
    op.drop_column("imports", "duplicate_warnings", schema=S)
