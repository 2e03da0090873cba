from typing import Any, TypeVar, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm.attributes import set_committed_value

from services.monitoring.policy.models import MonitoringPolicy
from shared import policy as shared_policy
from shared.repository import RepositoryBase

M = TypeVar("M", bound=DeclarativeBase)


class YearlyRuleRepository(RepositoryBase[M]):
    """A rule set per region and year, versioned across rows, a county's own before its
    province's (``shared.policy``): the monitoring policy and the risk scorecard."""

    async def exact(self, region_code: str, year: int, status: str = "active") -> M | None:
        stmt = select(self.model).where(
            self.model.region_code == region_code,
            self.model.year == year,
            self.model.status == status,
        )
        return cast("M | None", (await self.session.execute(stmt)).scalar_one_or_none())

    async def in_force(self, region_code: str, year: int) -> M | None:
        """The rule in force (``shared.policy``): the latest year not after ``year``, the
        county's own before the province's."""
        where, order_by = shared_policy.in_force(
            self.model.region_code, self.model.year, region_code, year
        )
        stmt = (
            select(self.model)
            .where(*where, self.model.status == "active")
            .order_by(*order_by)
            .limit(1)
        )
        return cast("M | None", (await self.session.execute(stmt)).scalar_one_or_none())

    async def for_year(self, region_code: str, year: int) -> M | None:
        """The rule in force only if it was set for ``year`` itself: a scan judges a year's
        incomes against that year's figures, never an earlier year's (domain.md section 3)."""
        rule = await self.in_force(region_code, year)
        return rule if rule is not None and cast(Any, rule).year == year else None

    async def continue_version(self, rule: M, version: int) -> None:
        """Number a new row as the next version of the one it supersedes (the ORM numbers
        every insert 1), so ``If-Match`` follows the region's rule across rows."""
        table = cast(Table, self.model.__table__)
        await self.session.execute(
            update(table).where(table.c.id == cast(Any, rule).id).values(version=version)
        )
        set_committed_value(rule, "version", version)


class PolicyRepository(YearlyRuleRepository[MonitoringPolicy]):
    model = MonitoringPolicy

    def list_query(self, prefix: str, year: int | None, status: str | None) -> Any:
        stmt = select(MonitoringPolicy).where(
            MonitoringPolicy.region_code.startswith(prefix, autoescape=True)
        )
        if year is not None:
            stmt = stmt.where(MonitoringPolicy.year == year)
        if status is not None:
            stmt = stmt.where(MonitoringPolicy.status == status)
        return stmt
