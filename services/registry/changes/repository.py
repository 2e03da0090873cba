"""Every query of the change feed."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# Only transactions older than every transaction still running: a later page can never
# gain an event before the cursor. A transaction also sees its own events (its xid is
# assigned only when it writes; a feed read never does), which lets a test that writes and
# reads in one rolled-back transaction follow the feed.
_PAGE = text(
    """
    SELECT seq, xid::text AS xid, entity, entity_id, household_id, region_code, op, at, data
      FROM registry.change_events
     WHERE (xid, seq) > (CAST(CAST(:xid AS text) AS xid8), :seq)
       AND (xid < pg_snapshot_xmin(pg_current_snapshot())
            OR xid = pg_current_xact_id_if_assigned())
       AND region_code LIKE :prefix
     ORDER BY xid, seq
     LIMIT :limit
    """
)


class ChangeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, after_xid: int, after_seq: int, region_prefix: str, limit: int
    ) -> list[dict[str, Any]]:
        result = await self.session.execute(
            _PAGE,
            {
                "xid": str(after_xid),
                "seq": after_seq,
                "prefix": region_prefix + "%",
                "limit": limit,
            },
        )
        return [dict(row) for row in result.mappings()]
