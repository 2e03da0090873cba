"""A household's category (脱贫户, 监测户, 一般农户): the county's decision to monitor a
household or to give it back the category it had before, and the history of those decisions."""

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.households.models import HouseholdCategoryChange
from services.registry.households.repository import HouseholdRepository
from services.registry.households.schemas import CategoryRead
from services.registry.households.service import CATEGORY_ROLES, get_household, publish_household
from shared.audit import row_dict
from shared.auth import Principal
from shared.contracts.registry import CategoryChange, ChangeOp, HouseholdCategory


async def set_category(
    session: AsyncSession, principal: Principal, household_id: UUID, change: CategoryChange
) -> CategoryRead:
    """Mark a household 监测户 (county decision) or give it back the category it had before
    monitoring (risk eliminated). Only county officers and above, or monitoring acting for one."""
    principal.ensure_role(*CATEGORY_ROLES)
    household = await get_household(session, principal, household_id, for_update=True)
    previous = HouseholdCategory(household.category)
    target = change.category
    if target != previous:
        old = row_dict(household)
        if target == HouseholdCategory.monitored:
            household.category_before_monitoring = previous.value
        elif previous == HouseholdCategory.monitored:
            household.category_before_monitoring = None
        household.category = target.value
        household.at_risk = target == HouseholdCategory.monitored
        HouseholdRepository(session).record_category_change(
            HouseholdCategoryChange(
                household_id=household.id,
                region_code=household.region_code,
                from_category=previous.value,
                to_category=target.value,
                reason=change.reason[:300],
                changed_by=principal.sub,
            )
        )
        await session.flush()
        await publish_household(session, principal, household, ChangeOp.update, old)
    return CategoryRead(
        household_id=household.id,
        category=target,
        previous_category=previous,
        version=household.version,
    )


async def category_history(
    session: AsyncSession, principal: Principal, household_id: UUID
) -> list[HouseholdCategoryChange]:
    household = await get_household(session, principal, household_id)
    return await HouseholdRepository(session).category_changes(household.id)
