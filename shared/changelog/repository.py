"""The statements of a service's change log outside the ORM unit of work: the append of one
entry, and the change feed's reads."""

from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession


async def append(session: AsyncSession, model: type[Any], row: dict[str, Any]) -> None:
    """Append one entry now (an ``INSERT``, not a pending ORM object: nothing pairs with it)."""
    await session.execute(insert(model).values(row))


class FeedRepository:
    """A service's change feed: its change log's published entries in commit order
    (``position``), inside a region, their ``data`` as the reader may see it."""

    def __init__(self, session: AsyncSession, table: str) -> None:
        self.session, self.table = session, table

    async def page_json(
        self, after: int, region_prefix: str, limit: int, data_sql: str, hidden: list[str]
    ) -> tuple[str, int | None]:
        """The page's items as a JSON array (rendered by PostgreSQL), and the position of
        its last event; none of the entities ``hidden`` from the reader."""
        row = (
            await self.session.execute(
                text(
                    f"""
                    WITH page AS (
                        SELECT seq, position, entity, entity_id, household_id, region_code,
                               op, at, data
                          FROM {self.table}
                         WHERE op IS NOT NULL AND position > :after
                           AND region_code LIKE :prefix
                           AND entity <> ALL(CAST(:hidden AS text[]))
                         ORDER BY position
                         LIMIT :limit
                    )
                    SELECT coalesce(json_agg(json_build_object(
                               'seq', seq, 'entity', entity, 'entity_id', entity_id,
                               'household_id', household_id, 'region_code', region_code,
                               'op', op, 'at', at, 'data', {data_sql}) ORDER BY position)::text,
                               '[]') AS items,
                           max(position) AS last
                      FROM page
                    """
                ),
                {"after": after, "prefix": region_prefix + "%", "limit": limit, "hidden": hidden},
            )
        ).one()
        return row.items, row.last

    async def position(self, region_prefix: str, hidden: list[str]) -> int | None:
        """The position of the last event committed so far in the region, of the entities
        the reader sees (a cursor at it has seen everything the reader may)."""
        return (
            await self.session.execute(
                text(
                    f"SELECT max(position) FROM {self.table} "
                    "WHERE op IS NOT NULL AND region_code LIKE :prefix "
                    "AND entity <> ALL(CAST(:hidden AS text[]))"
                ),
                {"prefix": region_prefix + "%", "hidden": hidden},
            )
        ).scalar_one()
