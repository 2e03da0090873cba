from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.monitoring.deps import IfMatch
from services.monitoring.policy import service as policy_service
from services.monitoring.policy.schemas import PolicyRead, PolicyWrite
from shared.auth import CurrentPrincipal
from shared.db import SessionDep
from shared.errors import (
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problem_responses,
)
from shared.params import YearPath

router = APIRouter(tags=["policy"])

RegionQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{12}$",
        description="12-digit region code; default the caller's own region",
    ),
]


@router.get(
    "/policy/{year}",
    response_model=PolicyRead,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="The monitoring policy in force for a region and year (the county's own, else the province's)",
)
async def get_policy(
    year: YearPath, principal: CurrentPrincipal, session: SessionDep, region: RegionQuery = None
) -> PolicyRead:
    policy = await policy_service.get_in_force(session, principal, year, region)
    return PolicyRead.model_validate(policy)


@router.put(
    "/policy/{year}",
    response_model=PolicyRead,
    responses=problem_responses(Forbidden, NotFound, PreconditionFailed, ValidationFailed),
    summary="Set a province's policy for a year (province admin) or a county override",
)
async def put_policy(
    year: YearPath,
    body: PolicyWrite,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    region: RegionQuery = None,
    if_match: IfMatch = None,
) -> PolicyRead:
    policy, created = await policy_service.put_policy(
        session, principal, year, region, body, if_match=if_match
    )
    response.status_code = 201 if created else 200
    return PolicyRead.model_validate(policy)
