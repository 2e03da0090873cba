from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request

from services.monitoring.alerts import service as scan_service
from services.monitoring.alerts.models import Alert
from services.monitoring.alerts.repository import AlertRepository
from services.monitoring.alerts.schemas import (
    AlertRead,
    ScanAccepted,
    ScanCountyRead,
    ScanCreate,
    ScanRead,
)
from services.monitoring.deps import Registry
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page, paginate
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["scans and alerts"])


@router.post(
    "/scans",
    status_code=202,
    response_model=ScanAccepted,
    responses=problem_responses(
        BadRequest, Conflict, Forbidden, NotFound, ValidationFailed, ServiceUnavailable
    ),
    summary="Start a scan of a region for a year (full, or only households changed since the last scan)",
    description=(
        "First brings monitoring's copy of the registry up to the registry's change feed "
        "position at the time of the request (waiting at most `POVGUARD_SCAN_CATCH_UP_S`, "
        "10 s by default; else 503 with `Retry-After`), so the scan sees every registry "
        "change committed before it was asked for; the scan reports that `feed_position`. "
        "Split into one job per county. Refused with 409 when no policy covers the year."
    ),
)
async def create_scan(
    body: ScanCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    registry: Registry,
) -> ScanAccepted:
    scan = await scan_service.request_scan(
        session,
        request.app.state.session_maker,
        registry,
        principal,
        body,
        catch_up_s=request.app.state.settings.scan_catch_up_s,
    )
    return ScanAccepted(
        scan_id=scan.id,
        state=scan.state,
        counties=scan.counties_total,
        feed_position=scan.feed_position,
    )


@router.get(
    "/scans/{scan_id}",
    response_model=ScanRead,
    responses=problem_responses(NotFound),
    summary="A scan's state, households examined, alerts raised and closed, duration",
)
async def get_scan(scan_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> ScanRead:
    """A scan's state (queued, running, done, failed), households examined, alerts raised and
    closed, its duration and the registry feed position it saw. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `ScanRead`."""
    scan, counties = await scan_service.get_scan(session, principal, scan_id)
    read = ScanRead.model_validate(scan)
    if scan.started_at and scan.finished_at:
        read.duration_seconds = round((scan.finished_at - scan.started_at).total_seconds(), 3)
    read.counties = [ScanCountyRead.model_validate(c) for c in counties]
    return read


@router.get(
    "/alerts",
    response_model=Page[AlertRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Alerts in a region, by rule and status (open | closed)",
)
async def list_alerts(
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    rule: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
    kind: Annotated[str | None, Query(pattern="^(case|review)$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AlertRead]:
    """Alerts (预警) of a region, by rule and status (`open` | `closed`); each names its rule, the
    figures that triggered it and the policy year. At most one open alert per household and
    rule. Who: any signed-in user, inside their own region (outside it: 404). Answers 200
    `{items, next_cursor}`."""
    stmt = AlertRepository(session).list_query(prefix, rule, status, kind)
    rows, next_cursor = await paginate(session, stmt, [Alert.raised_at, Alert.id], cursor, limit)
    return Page(items=[AlertRead.model_validate(r) for r in rows], next_cursor=next_cursor)
