from sqlalchemy import select

from services.funds.policy.models import FundsPolicy
from services.funds.repository import FundsRepository
from shared.errors import ValidationFailed
from shared.i18n import t
from shared.policy import in_force as policy_in_force


class PolicyRepository(FundsRepository[FundsPolicy]):
    model = FundsPolicy
    entity = "funds_policy"

    async def in_force(self, region_code: str, year: int) -> FundsPolicy:
        """The policy in force for ``year`` in ``region_code`` (资金政策参数), with the one
        meaning of ``shared.policy``: the latest year not after ``year``, within it the
        county's own row before the province's. 422 when neither has a row that early."""
        where, order_by = policy_in_force(
            FundsPolicy.region_code, FundsPolicy.year, region_code, year
        )
        stmt = select(FundsPolicy).where(*where).order_by(*order_by).limit(1)
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
