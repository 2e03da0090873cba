from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.registry.audit import service as audit_service
from services.registry.audit.schemas import AuditEntry
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.errors import Forbidden, NotFound, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.params import IsoDateTime
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["audit"])


@router.get(
    "/households/{household_id}/history",
    response_model=Page[AuditEntry],
    tags=["households"],
    responses=problem_responses(NotFound),
    summary="Every change to a household, newest first",
)
async def get_household_history(
    household_id: UUID,
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AuditEntry]:
    """Every change to a household and its members, economics, guarantees and measures, newest
    first, with old and new values. Who: any signed-in user, inside their own region (outside
    it: 404). Answers 200 `{items, next_cursor}`."""
    rows, next_cursor = await audit_service.household_history(
        session, principal, household_id, cursor, limit
    )
    return Page(
        items=[AuditEntry.for_principal(r, principal) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/audit",
    response_model=Page[AuditEntry],
    responses=problem_responses(Forbidden, NotFound),
    summary="Who changed what (auditors, county officers and above)",
)
async def search_audit(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    region_prefix: ScopedRegionPrefix,
    entity_id: Annotated[str | None, Query(max_length=100)] = None,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    since: Annotated[
        IsoDateTime | None, Query(description="ISO 8601, e.g. 2026-12-01T00:00:00+08:00")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AuditEntry]:
    """The audit trail (审计日志): who changed what and when, with old and new values, filtered by
    entity, actor and time. Who: auditor, county officer and above, inside their region. Answers
    200 `{items, next_cursor}`."""
    rows, next_cursor = await audit_service.search(
        session,
        principal,
        region_prefix=region_prefix,
        entity_id=entity_id,
        actor=actor,
        since=since,
        cursor=cursor,
        limit=limit,
    )
    return Page(
        items=[AuditEntry.for_principal(r, principal) for r in rows], next_cursor=next_cursor
    )
