from sqlalchemy import select

from services.monitoring.policy.models import MonitoringPolicy
from shared import regions
from shared.db import RepositoryBase


class PolicyRepository(RepositoryBase[MonitoringPolicy]):
    model = MonitoringPolicy

    async def exact(self, region_code: str, year: int) -> MonitoringPolicy | None:
        stmt = select(MonitoringPolicy).where(
            MonitoringPolicy.region_code == region_code, MonitoringPolicy.year == year
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def in_force(self, region_code: str, year: int) -> MonitoringPolicy | None:
        """The county's own policy, else the province's."""
        level = regions.level_of(region_code)
        candidates = [regions.ancestor_at(region_code, regions.RegionLevel.province)]
        if regions.level_rank(level) >= regions.level_rank(regions.RegionLevel.county):
            candidates.insert(0, regions.county_of(region_code))
        for code in candidates:
            policy = await self.exact(code, year)
            if policy is not None:
                return policy
        return None
