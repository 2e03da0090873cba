"""The statements of a service's change log outside the ORM unit of work: the append of one
entry, and the change feed's reads."""

from functools import cache
from typing import Any

from sqlalchemy import Insert, Table, insert, text
from sqlalchemy.ext.asyncio import AsyncSession


@cache
def _insert(table: Table) -> Insert:
    """The change log's ``INSERT``, built once per table, its values sent as parameters.
    Built per call with ``.values(row)`` it cost SQLAlchemy about 0.3 ms of CPU each time
    (the ORM's reading of the values and the statement's cache key), more than sending it:
    an offline batch writes one entry an item (issue 24)."""
    return insert(table)


async def append(session: AsyncSession, model: type[Any], row: dict[str, Any]) -> None:
    """Append one entry now (an ``INSERT``, not a pending ORM object: nothing pairs with it)."""
    await session.execute(_insert(model.__table__), row)


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


class ChainRepository:
    """A service's hash chain (migration 0041_chain): the entries' stored hashes against the
    ones their content and the previous entry's hash give, in commit order."""

    def __init__(self, session: AsyncSession, schema: str) -> None:
        self.session, self.schema = session, schema

    async def walk(self) -> tuple[int, int | None]:
        """(committed entries, the position of the first whose hash does not follow), in one
        pass PostgreSQL streams in position order (nothing held but the previous hash)."""
        row = (
            await self.session.execute(
                text(
                    f"""
                    SELECT count(*) AS entries, min(position) FILTER (WHERE bad) AS first_bad
                      FROM (SELECT position,
                                   hash IS DISTINCT FROM sha256(
                                       coalesce(lag(hash) OVER (ORDER BY position), ''::bytea)
                                       || {self.schema}.change_log_content(
                                              c, position, committed_at)) AS bad
                              FROM {self.schema}.change_log c
                             WHERE position IS NOT NULL) w
                    """
                )
            )
        ).one()
        return int(row.entries), row.first_bad

    async def entry(self, position: int) -> Any:
        """The entry at ``position`` (seq, at, whether it has a hash) and the position of the
        one before it."""
        return (
            await self.session.execute(
                text(
                    f"""
                    SELECT seq, at, hash IS NULL AS unhashed,
                           (SELECT max(position) FROM {self.schema}.change_log
                             WHERE position < :p) AS previous
                      FROM {self.schema}.change_log WHERE position = :p
                    """
                ),
                {"p": position},
            )
        ).one()

    async def head(self) -> Any:
        """The last committed entry: (position, seq, committed_at, hash), or None."""
        return (
            await self.session.execute(
                text(
                    f"""
                    SELECT position, seq, committed_at, encode(hash, 'hex') AS hash
                      FROM {self.schema}.change_log
                     WHERE position IS NOT NULL ORDER BY position DESC LIMIT 1
                    """
                )
            )
        ).one_or_none()
