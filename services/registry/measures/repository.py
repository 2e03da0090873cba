from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from services.registry.measures.models import Cadre, CadreHousehold, HelpMeasure
from shared.pagination import paginate
from shared.repository import RepositoryBase


class MeasureRepository(RepositoryBase[HelpMeasure]):
    model = HelpMeasure

    async def for_household(
        self, household_id: UUID, cursor: str | None, limit: int
    ) -> tuple[list[HelpMeasure], str | None]:
        stmt = select(HelpMeasure).where(HelpMeasure.household_id == household_id)
        return await paginate(
            self.session, stmt, [HelpMeasure.created_at, HelpMeasure.id], cursor, limit
        )


class CadreRepository(RepositoryBase[Cadre]):
    model = Cadre

    async def pair(self, cadre: Cadre, households: Sequence[tuple[UUID, str]]) -> list[UUID]:
        """Insert the pairs that do not exist yet; returns the households newly paired."""
        result = await self.session.execute(
            insert(CadreHousehold)
            .values(
                [{"cadre_id": cadre.id, "household_id": h, "region_code": r} for h, r in households]
            )
            .on_conflict_do_nothing()
            .returning(CadreHousehold.household_id)
        )
        return list(result.scalars())

    async def count_pairs(self, cadre_id: UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(CadreHousehold)
            .where(CadreHousehold.cadre_id == cadre_id)
        )
        return int(await self.session.scalar(stmt) or 0)
