"""The registry as it stood at a moment, read from the change log: every published
``household`` and ``member`` entry holds the entity's whole state after the change, so the
state at a moment is each entity's last entry committed by then (``committed_at``, set at
commit with ``position``; ``at`` is when the transaction began and bounds the index range).
Entries are ordered by ``position`` (commit order), never by ``at``."""

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# One household's entities at a moment: (household_id, at) is the history's index range; a
# household has tens of entries. ``first_position`` orders members as they were entered.
_HOUSEHOLD = text(
    """
    SELECT * FROM (
        SELECT DISTINCT ON (entity, entity_id)
               seq, position, entity, entity_id, region_code, op, committed_at, data,
               min(position) OVER (PARTITION BY entity, entity_id) AS first_position,
               min(committed_at) OVER (PARTITION BY entity, entity_id) AS first_committed
          FROM registry.change_log
         WHERE household_id = :household_id AND at <= :moment AND committed_at <= :moment
           AND entity IN ('household', 'member') AND op IS NOT NULL
         ORDER BY entity, entity_id, position DESC
    ) latest
    WHERE op <> 'delete'
    """
)

# A region's households at a moment, a page in (region_code, id) order as today's list:
# the region's entries by the (region_code, at, seq) index, each household's last one kept.
_HOUSEHOLDS = """
    SELECT * FROM (
        SELECT DISTINCT ON (entity_id)
               seq, position, entity_id::uuid AS id, region_code, op, data,
               min(committed_at) OVER (PARTITION BY entity_id) AS first_committed
          FROM registry.change_log
         WHERE region_code >= :low AND region_code < :high
           AND at <= :moment AND committed_at <= :moment
           AND entity = 'household' AND op IS NOT NULL
         ORDER BY entity_id, position DESC
    ) latest
    WHERE op <> 'delete' {filters}
    ORDER BY region_code, id
    LIMIT :limit
"""

# A region's households at a moment, counted (set-based, as ``_HOUSEHOLDS`` finds them) by
# category and child region; each group's newest entry names what the answer stands on.
_HOUSEHOLD_COUNTS = text(
    """
    SELECT substr(region_code, 1, :child_len) AS child, data ->> 'category' AS category,
           count(*) AS households, max(position) AS position,
           (array_agg(seq ORDER BY position DESC))[1] AS seq
      FROM (
        SELECT DISTINCT ON (entity_id) seq, position, region_code, op, data
          FROM registry.change_log
         WHERE region_code >= :low AND region_code < :high
           AND at <= :moment AND committed_at <= :moment
           AND entity = 'household' AND op IS NOT NULL
         ORDER BY entity_id, position DESC
      ) latest
     WHERE op <> 'delete'
     GROUP BY 1, 2
    """
)


class AsOfRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def household(self, household_id: UUID, moment: datetime) -> list[Any]:
        """The last entry of the household and of each of its members committed by
        ``moment`` (none: it did not exist yet)."""
        params = {"household_id": household_id, "moment": moment}
        return list(await self.session.execute(_HOUSEHOLD, params))

    async def households(
        self,
        *,
        region_prefix: str,
        moment: datetime,
        category: str | None,
        at_risk: bool | None,
        household_no: str | None,
        after: tuple[str, UUID] | None,
        limit: int,
    ) -> list[Any]:
        """Up to ``limit`` households of the region subtree as they stood at ``moment``, after
        the (region_code, id) ``after``."""
        # The prefix as a range of the (region_code, at, seq) index (":" sorts after "9" in
        # the codes' C collation), which a prepared statement's generic plan still uses.
        filters: list[str] = []
        params: dict[str, Any] = {"low": region_prefix, "high": region_prefix + ":"}
        params["moment"] = moment
        params["limit"] = limit
        if category is not None:
            filters.append("data ->> 'category' = :category")
            params["category"] = category
        if at_risk is not None:
            filters.append("coalesce((data ->> 'at_risk')::boolean, false) = :at_risk")
            params["at_risk"] = at_risk
        if household_no is not None:
            filters.append("data ->> 'household_no' = :household_no")
            params["household_no"] = household_no
        if after is not None:
            filters.append("(region_code, id) > (:after_region, :after_id)")
            params["after_region"], params["after_id"] = after
        sql = _HOUSEHOLDS.format(filters="".join(f" AND {f}" for f in filters))
        return list(await self.session.execute(text(sql), params))

    async def household_counts(
        self, *, region_prefix: str, moment: datetime, child_len: int
    ) -> list[Any]:
        """The region subtree's households at ``moment``, counted per (child region,
        category), with the newest entry (position, seq) of each group."""
        params = {"low": region_prefix, "high": region_prefix + ":", "moment": moment}
        return list(
            await self.session.execute(_HOUSEHOLD_COUNTS, {**params, "child_len": child_len})
        )
