from uuid import UUID

from fastapi import APIRouter

from services.registry.guarantees import service as guarantee_service
from services.registry.guarantees.schemas import GuaranteesInput, GuaranteesRead
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, problem_responses

router = APIRouter(tags=["guarantees"])


@router.put(
    "/households/{household_id}/guarantees",
    response_model=GuaranteesRead,
    responses=problem_responses(Forbidden, NotFound),
    summary="Record checks of the guarantees (history is kept)",
)
async def set_household_guarantees(
    household_id: UUID, data: GuaranteesInput, principal: CurrentPrincipal, session: SessionDep
):
    """Records checks of 两不愁三保障 and drinking water: `food_clothing` 不愁吃穿, `compulsory_education`
    义务教育, `basic_medical` 基本医疗, `housing_safety` 住房安全, `drinking_water` 饮水安全, each `{ok,
    checked_on, note}`; earlier checks are kept. Who: village cadre and above, inside their
    region. Answers 200 `GuaranteesRead`."""
    return await guarantee_service.record_checks(session, principal, household_id, data)


@router.get(
    "/households/{household_id}/guarantees",
    response_model=GuaranteesRead,
    responses=problem_responses(NotFound),
    summary="The latest status of each guarantee, and history",
)
async def get_household_guarantees(
    household_id: UUID, principal: CurrentPrincipal, session: SessionDep
):
    """The latest check of each guarantee (两不愁三保障 and drinking water) and every earlier one. Who:
    any signed-in user, inside their own region (outside it: 404). Answers 200 `GuaranteesRead`."""
    return await guarantee_service.read_checks(session, principal, household_id)
