from collections.abc import Sequence

from sqlalchemy import func, literal_column, select, text

from services.registry.regions.models import Region
from shared.repository import RepositoryBase


class RegionRepository(RepositoryBase[Region]):
    model = Region

    async def get_by_code(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def children(self, parent_code: str, after: str | None, limit: int) -> list[Region]:
        stmt = select(Region).where(Region.parent_code == parent_code)
        if after:
            stmt = stmt.where(Region.code > after)
        return list(
            (await self.session.execute(stmt.order_by(Region.code).limit(limit + 1))).scalars()
        )

    async def existing_codes(self, codes: Sequence[str]) -> set[str]:
        rows = await self.session.execute(select(Region.code).where(Region.code.in_(list(codes))))
        return set(rows.scalars())

    async def upsert(self, rows: Sequence[tuple[str, str, str | None, str]]) -> tuple[int, int]:
        """Insert or update in one statement; returns (created, updated). Unchanged rows are
        not touched, so they do not count."""
        if not rows:
            return 0, 0
        codes, names, parents, levels = (list(col) for col in zip(*rows, strict=True))
        result = await self.session.execute(
            text(
                """
                INSERT INTO registry.regions AS r (code, name, parent_code, level)
                SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]),
                                     CAST(:parents AS text[]), CAST(:levels AS text[]))
                ON CONFLICT (code) DO UPDATE
                   SET name = excluded.name, parent_code = excluded.parent_code, level = excluded.level
                 WHERE (r.name, r.parent_code, r.level)
                       IS DISTINCT FROM (excluded.name, excluded.parent_code, excluded.level)
                RETURNING (xmax = 0) AS inserted
                """
            ),
            {"codes": codes, "names": names, "parents": parents, "levels": levels},
        )
        flags = [row.inserted for row in result]
        created = sum(1 for f in flags if f)
        return created, len(flags) - created

    async def add_missing(self, rows: Sequence[tuple[str, str, str | None, str]]) -> None:
        """Insert the regions not registered yet; leave registered ones as they are."""
        await self.session.execute(
            text(
                "INSERT INTO registry.regions (code, name, parent_code, level) "
                "VALUES (:c, :n, :p, :l) ON CONFLICT (code) DO NOTHING"
            ),
            [{"c": c, "n": n, "p": p, "l": lvl} for c, n, p, lvl in rows],
        )

    async def count_in(self, prefix: str, level: str) -> int:
        stmt = (
            select(func.count())
            .select_from(Region)
            .where(Region.code.startswith(prefix), Region.level == level)
        )
        return int((await self.session.execute(stmt)).scalar_one())


__all__ = ["RegionRepository", "literal_column"]
