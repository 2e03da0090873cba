from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header

from services.registry.economics import service as economics_service
from services.registry.economics.schemas import EconomicsInput, EconomicsRead
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, PreconditionFailed, problem_responses
from shared.params import YearPath
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["economics"])


@router.put(
    "/households/{household_id}/economics/{year}",
    response_model=EconomicsRead,
    responses=problem_responses(Forbidden, NotFound, PreconditionFailed),
    summary="Record a year's income and rigid expenses; answers per-capita net income",
)
async def set_household_economics(
    household_id: UUID,
    year: YearPath,
    data: EconomicsInput,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: Annotated[
        str | None, Header(alias="If-Match", description="Optional: the version you replace")
    ] = None,
) -> EconomicsRead:
    """Creates or replaces the year (2014 up to this year). The answer adds:

    - `net_income` = wage + operating + property + transfer
    - `rigid_expenses` = medical_out_of_pocket + education + disaster_loss + other_rigid
    - `per_capita_net_income` = (net_income - rigid_expenses) / resident members, rounded
      half-up to the fen; a household with no resident member is refused (422).
    """
    row = await economics_service.put_year(session, principal, household_id, year, data, if_match)
    return EconomicsRead.model_validate(row)


@router.get(
    "/households/{household_id}/economics",
    response_model=list[EconomicsRead],
    responses=problem_responses(NotFound),
    summary="Every recorded year",
)
async def list_household_economics(
    household_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep
) -> list[EconomicsRead]:
    """Every recorded year of a household's income and rigid expenses, oldest first. Who: Any
    signed-in user, inside their own region (outside it: 404). Answers 200 a list of
    `EconomicsRead`."""
    return [
        EconomicsRead.model_validate(r)
        for r in await economics_service.list_years(session, principal, household_id)
    ]


@router.get(
    "/households/{household_id}/economics/{year}",
    response_model=EconomicsRead,
    responses=problem_responses(NotFound),
    summary="One year",
)
async def get_household_economics(
    household_id: UUID, year: YearPath, principal: CurrentPrincipal, session: SessionDep
) -> EconomicsRead:
    """One year's income (wage 工资性, operating 经营性, property 财产性, transfer 转移性) and rigid expenses
    (刚性支出), with `net_income` and `per_capita_net_income` computed. Who: any signed-in user,
    inside their own region (outside it: 404). Answers 200 `EconomicsRead`; 404 for a year not
    recorded."""
    return EconomicsRead.model_validate(
        await economics_service.get_year(session, principal, household_id, year)
    )
