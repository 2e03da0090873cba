"""The DCI notifier reads the change log in commit order (``position``, migration 0017), as the
change feed does, instead of by transaction id: a subscriber's notifications of one record then
follow its versions even when two writers overlap. The cursor becomes one position; it starts
just before the first entry the old (xid, seq) cursor had not read, so nothing is skipped (an
entry already notified may be notified again, under at-least-once).

Revision ID: 0046_dci_notify_position
Revises: 0043_declaration_versions
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0046_dci_notify_position"
down_revision: str | None = "0043_declaration_versions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "dci_cursors",
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        schema="registry",
    )
    op.execute(
        """
        UPDATE registry.dci_cursors k SET position = coalesce(
            (SELECT min(c.position) - 1 FROM registry.change_log c
              WHERE c.position IS NOT NULL
                AND (c.xid, c.seq) > (CAST(CAST(k.xid AS text) AS xid8), k.seq)),
            (SELECT max(c.position) FROM registry.change_log c), 0)
        """
    )
    op.drop_column("dci_cursors", "xid", schema="registry")
    op.drop_column("dci_cursors", "seq", schema="registry")


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column(
        "dci_cursors",
        sa.Column("xid", sa.BigInteger(), server_default="0", nullable=False),
        schema="registry",
    )
    op.add_column(
        "dci_cursors",
        sa.Column("seq", sa.BigInteger(), server_default="0", nullable=False),
        schema="registry",
    )
    op.execute(
        """
        UPDATE registry.dci_cursors k SET (xid, seq) = (
            SELECT coalesce(max(c.xid::text::bigint), 0), coalesce(max(c.seq), 0)
              FROM registry.change_log c WHERE c.position <= k.position)
        """
    )
    op.drop_column("dci_cursors", "position", schema="registry")
