from sqlalchemy import case, select

from services.funds.policy.models import FundsPolicy
from services.funds.repository import FundsRepository
from shared import regions
from shared.errors import ValidationFailed
from shared.i18n import t


class PolicyRepository(FundsRepository[FundsPolicy]):
    model = FundsPolicy
    entity = "funds_policy"

    async def in_force(self, region_code: str, year: int) -> FundsPolicy:
        """The policy in force for ``year`` in ``region_code`` (资金政策参数): the latest row of
        a year not after ``year``, the county's own before the province's. So a county's
        override stays in force over later province rows until the county sets a new one;
        for the province itself (or a city, which sets none) the province's row. 422 when
        neither has a row that early."""
        county = regions.county_of(region_code)
        province = regions.ancestor_at(region_code, regions.RegionLevel.province)
        stmt = (
            select(FundsPolicy)
            .where(FundsPolicy.region_code.in_([county, province]), FundsPolicy.year <= year)
            .order_by(
                case((FundsPolicy.region_code == county, 0), else_=1), FundsPolicy.year.desc()
            )
            .limit(1)
        )
        policy = (await self.session.execute(stmt)).scalar_one_or_none()
        if policy is None:
            raise ValidationFailed.field(
                "fiscal_year",
                t("no funds policy is in force for {year}", "policy.missing", year=year),
            )
        return policy

    async def of_year(
        self, region_code: str, year: int, *, for_update: bool = False
    ) -> FundsPolicy | None:
        """The region's own row taking effect in ``year`` (none if it set none that year)."""
        stmt = select(FundsPolicy).where(
            FundsPolicy.region_code == region_code, FundsPolicy.year == year
        )
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()
