from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from services.monitoring.deps import IfMatch
from services.monitoring.policy import service as policy_service
from services.monitoring.policy.models import MonitoringPolicy
from services.monitoring.policy.schemas import PolicyRead, PolicyWrite
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page, paginate
from shared.params import RegionQuery, YearPath, YearQuery

router = APIRouter(tags=["policy"])


@router.get(
    "/policy/{year}",
    response_model=PolicyRead,
    responses=problem_responses(NotFound, ValidationFailed),
    summary="The monitoring policy in force for a region and year (the county's own, else the province's)",
)
async def get_policy(
    year: YearPath,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    region: RegionQuery = None,
) -> PolicyRead:
    """The monitoring policy (监测政策) in force for a region and year: the monitoring line (监测线, yuan
    per person per year), ratios, thresholds, deadlines and which rules are on. A county's own
    override wins over the province's. Who: any signed-in user. Answers 200 `PolicyRead`; 404
    when no policy is set for that year."""
    policy = await policy_service.get_in_force(session, principal, year, region)
    if not policy_service.version_names_it(policy, principal, region):
        http.untagged(response)
    return PolicyRead.model_validate(policy)


@router.put(
    "/policy/{year}",
    response_model=PolicyRead,
    responses={
        201: {"model": PolicyRead, "description": "A new policy in force"},
        202: {
            "model": PolicyRead,
            "description": "A county override that loosens the province's policy, stored "
            "`pending` until a province admin approves it",
        },
        **problem_responses(Forbidden, NotFound, PreconditionFailed, ValidationFailed),
    },
    summary="Set a province's policy for a year (province admin) or a county override",
    description="A county officer's override that only tightens the province's policy for "
    "the year is in force at once (201/200); one that loosens it is stored `pending` (202, "
    "with what it `loosens`) until a province admin approves it. A policy in force is never "
    "edited: the new one supersedes it, and cases keep the policy they were opened under.",
)
async def set_policy(
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
    http.settled(
        response,
        pending=policy.status == "pending",
        created=created,
        path=f"/v1/policy/{year}?region={policy.region_code}",
    )
    return PolicyRead.model_validate(policy)


@router.get(
    "/policies",
    response_model=Page[PolicyRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Policies set in your region: in force, superseded, pending approval, refused",
)
async def list_policies(
    session: SessionDep,
    prefix: ScopedRegionPrefix,
    year: YearQuery = None,
    status: Annotated[str | None, Query(pattern="^(active|superseded|pending|refused)$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[PolicyRead]:
    """Policies set in your region, with their state: in force, superseded, pending approval or
    refused. Who: any signed-in user, inside their own region (outside it: 404). Answers 200
    `{items, next_cursor}`."""
    stmt = policy_service.list_query(session, prefix, year, status)
    rows, next_cursor = await paginate(
        session, stmt, [MonitoringPolicy.created_at, MonitoringPolicy.id], cursor, limit
    )
    return Page(items=[PolicyRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post(
    "/policies/{policy_id}/approve",
    response_model=PolicyRead,
    responses=problem_responses(Conflict, Forbidden, NotFound),
    summary="Approve a county's pending override (province admin; never its requester)",
)
async def approve_policy(
    policy_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> PolicyRead:
    """Approves a county's pending policy override; it comes into force. Who: province admin, never
    the one who requested it. Answers 200 `PolicyRead`; 409 when it is not pending."""
    policy = await policy_service.decide(session, principal, policy_id, approve=True)
    return PolicyRead.model_validate(policy)


@router.post(
    "/policies/{policy_id}/refuse",
    response_model=PolicyRead,
    responses=problem_responses(Conflict, Forbidden, NotFound),
    summary="Refuse a county's pending override (province admin; never its requester)",
)
async def refuse_policy(
    policy_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> PolicyRead:
    """Refuses a county's pending policy override, with a reason; the province's policy stays in
    force. Who: province admin, never the one who requested it. Answers 200 `PolicyRead`; 409
    when it is not pending."""
    policy = await policy_service.decide(session, principal, policy_id, approve=False)
    return PolicyRead.model_validate(policy)
