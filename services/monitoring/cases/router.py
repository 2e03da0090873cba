from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query

from services.monitoring.cases import machine
from services.monitoring.cases import service as case_service
from services.monitoring.cases.models import MonitoringCase
from services.monitoring.cases.schemas import (
    CaseActionRequest,
    CaseCreate,
    CaseEventRead,
    CaseRead,
)
from services.monitoring.deps import CallerToken, Idem, IfMatch, Registry
from shared import http, pii
from shared.auth import CurrentPrincipal, Principal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    problem_responses,
)
from shared.i18n import t
from shared.pagination import Cursor, Limit, Page, paginate
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["cases"])


async def _read(
    session: SessionDep, case: MonitoringCase, principal: Principal | None = None
) -> CaseRead:
    """The case, with its timeline when read for ``principal`` (not on lists)."""
    read = case_service.case_state(case)
    if principal is not None:
        events = await case_service.timeline(session, case.id)
        read.timeline = [CaseEventRead.model_validate(e) for e in events]
        for event in read.timeline:  # a note may name someone's ID or phone number
            event.note = pii.shown_text(event.note, principal.sees_full_id_numbers)
    return read


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseRead,
    responses=problem_responses(Conflict, Forbidden, NotFound, ValidationFailed),
    summary="Open a case at `discovered` for a household (one open case per household)",
)
async def create_case(
    body: CaseCreate, principal: CurrentPrincipal, session: SessionDep, idem: Idem
) -> Any:
    """Opens a monitored-household case (监测对象识别) at `discovered` for a household, from a channel
    (`scan`, `declaration`, `cadre`, `department`), optionally naming the alert or declaration.
    One open case per household. Who: village cadre and above, inside their region. Answers 201
    `CaseRead` with `Location`; 409 when the household already has an open case."""

    async def write() -> CaseRead:
        case = await case_service.open_case(session, principal, body)
        return await _read(session, case, principal)

    return await idem.run(write, status_code=201, location=http.location("/v1/cases/{id}"))


@router.get(
    "/cases/{case_id}",
    response_model=CaseRead,
    responses=problem_responses(NotFound),
    summary="A case with its stage, the actions it allows and its timeline",
)
async def get_case(case_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> CaseRead:
    """A case with its stage, the actions the stage allows, its deadline and timeline (every
    action, who took it, evidence). Who: any signed-in user, inside their own region (outside
    it: 404). Answers 200 `CaseRead` with `ETag`."""
    return await _read(session, await case_service.get_case(session, principal, case_id), principal)


@router.get(
    "/cases",
    response_model=Page[CaseRead],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Cases in a region, by stage and overdue",
)
async def list_cases(
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    stage: Annotated[str | None, Query(description=f"one of {', '.join(machine.STAGES)}")] = None,
    overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[CaseRead]:
    """Cases of a region, by stage and overdue, keyset-paginated. Who: any signed-in user, inside
    their own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    if stage is not None and stage not in machine.STAGES:
        raise ValidationFailed.field(
            "stage",
            t(
                "must be one of {expected}",
                "case.unknown_stage",
                expected=", ".join(machine.STAGES),
            ),
        )
    stmt = await case_service.list_cases(session, prefix, stage, overdue)
    rows, next_cursor = await paginate(
        session, stmt, [MonitoringCase.created_at, MonitoringCase.id], cursor, limit
    )
    return Page(
        items=[await _read(session, r) for r in rows],
        next_cursor=next_cursor,
    )


@router.post(
    "/cases/{case_id}/actions",
    response_model=CaseRead,
    responses=problem_responses(
        Conflict, Forbidden, NotFound, PreconditionFailed, ValidationFailed
    ),
    summary="Take an action on a case (domain.md section 3: stages, actions, who)",
    description="Send `If-Match: <version>` to act only on the case as you read it (412 "
    "otherwise) and `Idempotency-Key` to retry safely. Wrong role: 403. An action the stage does not allow: 409 with "
    "`allowed_actions`. A refused elimination: 409 with `unmet_conditions`.",
)
async def create_case_action(
    case_id: UUID,
    body: CaseActionRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
    token: CallerToken,
    idem: Idem,
    if_match: IfMatch = None,
) -> Any:
    async def write() -> CaseRead:
        case = await case_service.act(
            session, principal, case_id, body, registry, token, if_match=if_match
        )
        return await _read(session, case, principal)

    return await idem.run(write, status_code=200)
