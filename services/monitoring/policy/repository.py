from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm.attributes import set_committed_value

from services.monitoring.policy.models import MonitoringPolicy
from shared import regions
from shared.db import RepositoryBase


class PolicyRepository(RepositoryBase[MonitoringPolicy]):
    model = MonitoringPolicy

    async def exact(
        self, region_code: str, year: int, status: str = "active"
    ) -> MonitoringPolicy | None:
        stmt = select(MonitoringPolicy).where(
            MonitoringPolicy.region_code == region_code,
            MonitoringPolicy.year == year,
            MonitoringPolicy.status == status,
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

    def list_query(self, prefix: str, year: int | None, status: str | None) -> Any:
        stmt = select(MonitoringPolicy).where(
            MonitoringPolicy.region_code.startswith(prefix, autoescape=True)
        )
        if year is not None:
            stmt = stmt.where(MonitoringPolicy.year == year)
        if status is not None:
            stmt = stmt.where(MonitoringPolicy.status == status)
        return stmt

    async def continue_version(self, policy: MonitoringPolicy, version: int) -> None:
        """Number a new row as the next version of the one it supersedes (the ORM numbers
        every insert 1), so ``If-Match`` follows the region's policy across rows."""
        table = cast(Table, MonitoringPolicy.__table__)
        await self.session.execute(
            update(table).where(table.c.id == policy.id).values(version=version)
        )
        set_committed_value(policy, "version", version)
