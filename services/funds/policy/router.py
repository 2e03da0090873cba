from typing import Annotated

from fastapi import APIRouter, Query

from services.funds.policy import service as policy_service
from services.funds.policy.schemas import FundsPolicyFields, FundsPolicyRead
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, ValidationFailed, problem_responses
from shared.params import YearPath

router = APIRouter(tags=["policy"])

Region = Annotated[
    str | None,
    Query(pattern=r"^[0-9]{12}$", description="Province or county code; default: yours"),
]


@router.get(
    "/policy/{year}",
    response_model=FundsPolicyRead,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="The funds policy in force for a year (the county's own, else the province's)",
)
async def get_fund_policy(
    year: YearPath, principal: CurrentPrincipal, session: SessionDep, region: Region = None
) -> FundsPolicyRead:
    """The funds policy in force for a year (thresholds for idle funds and stalled projects,
    payment confirmation); the county's own, else the province's. Who: any signed-in user.
    Answers 200 the policy."""
    return await policy_service.get_policy(session, principal, region, year)


@router.put(
    "/policy/{year}",
    response_model=FundsPolicyRead,
    responses=problem_responses(Forbidden, NotFound, ValidationFailed),
    summary="Set the funds policy from a year on (province admin; a county may override)",
)
async def set_fund_policy(
    year: YearPath,
    body: FundsPolicyFields,
    principal: CurrentPrincipal,
    session: SessionDep,
    region: Region = None,
) -> FundsPolicyRead:
    """Sets the funds policy from a year on. Who: province admin (a county officer may set the
    county's override). Answers 200 the policy."""
    return await policy_service.put_policy(session, principal, region, year, body)
