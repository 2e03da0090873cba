from uuid import UUID

from sqlalchemy import func, select

from services.registry.economics.models import HouseholdEconomics
from services.registry.households.models import Member
from shared.repository import RepositoryBase


class EconomicsRepository(RepositoryBase[HouseholdEconomics]):
    model = HouseholdEconomics

    async def get_year(self, household_id: UUID, year: int) -> HouseholdEconomics | None:
        return await self.session.get(
            HouseholdEconomics, (household_id, year), with_for_update=True
        )

    async def years(self, household_id: UUID) -> list[HouseholdEconomics]:
        stmt = select(HouseholdEconomics).where(HouseholdEconomics.household_id == household_id)
        return list((await self.session.execute(stmt.order_by(HouseholdEconomics.year))).scalars())

    async def resident_members(self, household_id: UUID) -> int:
        stmt = select(func.count()).where(
            Member.household_id == household_id, Member.departed_on.is_(None)
        )
        return int(await self.session.scalar(stmt) or 0)
