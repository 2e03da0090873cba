from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.funds.compliance import service as compliance_service
from services.funds.compliance.schemas import FindingRead, ScanCreate, ScanRead
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import BadRequest, Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["compliance"])


@router.post(
    "/compliance/scans",
    status_code=202,
    response_model=ScanRead,
    responses=problem_responses(BadRequest, Forbidden, NotFound, ValidationFailed),
    summary="Run the compliance scan of a region now (queued for the worker)",
)
async def create_compliance_scan(
    body: ScanCreate, principal: CurrentPrincipal, session: SessionDep
) -> ScanRead:
    """Runs the compliance scan (资金资产监管: idle funds, stalled projects, idle assets, undistributed
    income) of a region now, queued for the worker. Who: county officer, province admin,
    Povguard's worker. Answers 202 with the scan id."""
    return await compliance_service.request_scan(session, principal, body)


@router.get(
    "/compliance/scans/{scan_id}",
    response_model=ScanRead,
    responses=problem_responses(NotFound),
    summary="A compliance scan's state and counts",
)
async def get_compliance_scan(
    scan_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ScanRead:
    """A compliance scan's state and the counts it found. Who: any signed-in user, inside their own
    region (outside it: 404). Answers 200 `ComplianceScanRead`."""
    return await compliance_service.get_scan(session, principal, scan_id)


@router.get(
    "/compliance",
    response_model=Page[FindingRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Open findings in a region, with the figures that raised them",
)
async def list_compliance_findings(
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[FindingRead]:
    """Open compliance findings of a region (idle funds 资金闲置, stalled projects, idle assets,
    undistributed income), with the figures that raised them. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    rows, next_cursor = await compliance_service.list_findings(session, prefix, rule, cursor, limit)
    return Page(items=[FindingRead.model_validate(r) for r in rows], next_cursor=next_cursor)
