from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.policy.models import FundsPolicy
from shared import regions
from shared.errors import ValidationFailed
from shared.i18n import t


async def in_force(session: AsyncSession, region_code: str, year: int) -> FundsPolicy:
    """The policy for ``year`` in ``region_code``: the county's own row if it has one, else the
    province's; the latest row from ``year`` or before."""
    county = regions.county_of(region_code)
    province = regions.ancestor_at(region_code, regions.RegionLevel.province)
    stmt = (
        select(FundsPolicy)
        .where(FundsPolicy.region_code.in_([county, province]), FundsPolicy.year <= year)
        .order_by(case((FundsPolicy.region_code == county, 0), else_=1), FundsPolicy.year.desc())
        .limit(1)
    )
    policy = (await session.execute(stmt)).scalar_one_or_none()
    if policy is None:
        raise ValidationFailed.field(
            "fiscal_year",
            t("no funds policy is in force for {year}", "policy.missing", year=year),
        )
    return policy
