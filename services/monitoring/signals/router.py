from uuid import UUID

from fastapi import APIRouter, Request

from services.monitoring.signals import service as signal_service
from services.monitoring.signals.models import Signal
from services.monitoring.signals.repository import SignalRepository
from services.monitoring.signals.schemas import SignalBatch, SignalBatchResult, SignalRead
from shared.app import locale_of
from shared.auth import (
    CurrentPrincipal,
    Principal,
    Scope,
    ScopedRegionPrefix,
    require_roles,
    require_scope,
)
from shared.db import SessionDep
from shared.errors import Forbidden, NotFound, ValidationFailed, problem_responses
from shared.pagination import Cursor, Limit, Page, paginate
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["signals"])


@router.post(
    "/signals",
    response_model=SignalBatchResult,
    responses=problem_responses(Forbidden, ValidationFailed),
    summary="A batch of department signals; idempotent on source + external_ref",
    description="Each item is validated and answered on its own: `created`, `duplicate` "
    "(received before, or earlier in the same batch) or `rejected` with `code` and "
    "`errors[]` (field, code, message); the good items are stored whatever the others. "
    "Each is matched by ID number or household id through the projection; "
    "unmatched signals are kept and match later when the person appears. A matched signal "
    "that may raise an alert starts an incremental scan of its county at once. "
    "Roles: department, service, county officer, province admin; a registered client "
    "also needs the scope `signals:write`.",
)
async def create_signals(
    request: Request,
    batch: SignalBatch,
    session: SessionDep,
    principal: Principal = require_roles(*signal_service.SIGNAL_ROLES),
    _scope: Principal = require_scope(Scope.signals_write),
) -> SignalBatchResult:
    return await signal_service.receive(session, principal, batch, locale_of(request))


@router.get(
    "/signals",
    response_model=Page[SignalRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Signals in a region; `matched=false` lists those that match nobody yet",
)
async def list_signals(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    matched: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[SignalRead]:
    """Department signals (部门数据) of a region; `matched=false` lists those that match no household
    yet (kept, never dropped). Who: any signed-in user, inside their own region (outside it:
    404). Answers 200 `{items, next_cursor}`."""
    stmt = SignalRepository(session).list_query(prefix, matched)
    rows, next_cursor = await paginate(
        session, stmt, [Signal.received_at, Signal.id], cursor, limit
    )
    items = await signal_service.reads(session, principal, list(rows))
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/signals/{signal_id}",
    response_model=SignalRead,
    responses=problem_responses(NotFound),
    summary="One signal, with the alerts it raised",
)
async def get_signal(
    signal_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> SignalRead:
    """One department signal and `alert_ids`, the alerts it raised or stands behind. Who: any
    signed-in user, inside their own region (outside it: 404). ID numbers masked by role."""
    # Its ETag follows `version`, which grows when an alert links or drops it.
    return await signal_service.get_signal(session, principal, signal_id)


@router.get(
    "/alerts/{alert_id}/signals",
    response_model=list[SignalRead],
    responses=problem_responses(NotFound),
    summary="The department signals behind an alert",
)
async def list_alert_signals(
    alert_id: UUID, principal: CurrentPrincipal, session: ReplicaSessionDep
) -> list[SignalRead]:
    """The signals an alert of a signal rule (`medical_expense`, `department_signal`,
    `eligibility_anomaly`) was raised on, oldest first; empty for the other rules. Who: any
    signed-in user, inside their own region (outside it: 404)."""
    return await signal_service.behind_alert(session, principal, alert_id)
