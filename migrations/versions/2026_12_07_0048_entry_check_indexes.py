"""The duplicate check at entry blocks by name, as the scan does.

Its candidates were members born the same day, or whose ID number shares its first ten
characters (a county's birth year) or its characters 13-17, whatever their name: at province
scale an import chunk of 50,000 rows met some 190 million candidate pairs and the worker ran
out of memory (23 GB, killed). The arms now carry the scan's name conditions (born the same day
with the same surname; the same name and a shared part of the ID number), each served by an
index on all its columns; the three indexes of 0042 go.

Revision ID: 0048_entry_check_indexes
Revises: 0047_alerts_household
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0048_entry_check_indexes"
down_revision: str | None = "0047_alerts_household"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "registry"


def upgrade() -> None:
    op.create_index(
        "ix_members_birth_date_surname",
        "members",
        ["birth_date", sa.text("left(name, 1)")],
        schema=S,
    )
    op.create_index(
        "ix_members_name_id_head",
        "members",
        ["name", sa.text("left(id_number, 10)")],
        schema=S,
    )
    op.create_index(
        "ix_members_name_id_tail",
        "members",
        ["name", sa.text("substr(id_number, 13, 5)")],
        schema=S,
    )
    op.drop_index("ix_members_id_number_tail", "members", schema=S)
    op.drop_index("ix_members_id_number_head", "members", schema=S)
    op.drop_index("ix_members_birth_date", "members", schema=S)


def downgrade() -> None:
    op.create_index("ix_members_birth_date", "members", ["birth_date"], schema=S)
    op.create_index(
        "ix_members_id_number_head", "members", [sa.text("left(id_number, 10)")], schema=S
    )
    op.create_index(
        "ix_members_id_number_tail", "members", [sa.text("substr(id_number, 13, 5)")], schema=S
    )
    op.drop_index("ix_members_name_id_tail", "members", schema=S)
    op.drop_index("ix_members_name_id_head", "members", schema=S)
    op.drop_index("ix_members_birth_date_surname", "members", schema=S)
