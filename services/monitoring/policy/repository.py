from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm.attributes import set_committed_value

from services.monitoring.policy.models import MonitoringPolicy
from shared import policy as shared_policy
from shared.repository import RepositoryBase


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
        """The policy in force (``shared.policy``): the latest year not after ``year``, the
        county's own before the province's."""
        where, order_by = shared_policy.in_force(
            MonitoringPolicy.region_code, MonitoringPolicy.year, region_code, year
        )
        stmt = (
            select(MonitoringPolicy)
            .where(*where, MonitoringPolicy.status == "active")
            .order_by(*order_by)
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_year(self, region_code: str, year: int) -> MonitoringPolicy | None:
        """The policy in force only if it was set for ``year`` itself: a scan judges a year's
        incomes against that year's figures, never an earlier year's (domain.md section 3)."""
        policy = await self.in_force(region_code, year)
        return policy if policy is not None and policy.year == year else None

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
