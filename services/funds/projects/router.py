from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.funds.deps import Idem, Registry
from services.funds.projects import service as project_service
from services.funds.projects.schemas import (
    PaymentCreate,
    PaymentRead,
    ProjectActionRequest,
    ProjectCreate,
    ProjectKind,
    ProjectRead,
    ProjectStatus,
)
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page

router = APIRouter()


@router.post(
    "/projects",
    status_code=201,
    response_model=ProjectRead,
    tags=["projects"],
    responses=problem_responses(Forbidden, NotFound, ValidationFailed, ServiceUnavailable),
    summary="Propose a project for the county project library (项目库)",
    description="Funds must have been allocated to the county; each beneficiary household is "
    "checked against the registry (422 names the ones missing or outside the county).",
)
async def create_project(
    body: ProjectCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: project_service.create_project(session, principal, registry, body),
        location=http.location("/v1/projects/{id}"),
    )


@router.get(
    "/projects/{project_id}",
    response_model=ProjectRead,
    tags=["projects"],
    responses=problem_responses(NotFound),
    summary="One project with its funds, beneficiaries and net paid",
)
async def get_project(
    project_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ProjectRead:
    """One project with its funds, beneficiary households, budget and net paid. Who: Any signed-in
    user, inside their own region (outside it: 404). Answers 200 `ProjectRead` with `ETag`."""
    project = await project_service.get_project(session, principal, project_id)
    return (await project_service.read_projects(session, principal, [project]))[0]


@router.get(
    "/projects",
    response_model=Page[ProjectRead],
    tags=["projects"],
    responses=problem_responses(NotFound, ValidationFailed),
    summary="Projects of a region, by status and kind",
)
async def list_projects(
    principal: CurrentPrincipal,
    session: SessionDep,
    prefix: ScopedRegionPrefix,
    status: ProjectStatus | None = None,
    kind: ProjectKind | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ProjectRead]:
    """Projects (项目库) of a region, by status and kind, keyset-paginated. Who: any signed-in user,
    inside their own region (outside it: 404). Answers 200 `{items, next_cursor}`."""
    items, next_cursor = await project_service.list_projects(
        session, principal, prefix, status, kind.value if kind else None, cursor, limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/actions",
    response_model=ProjectRead,
    tags=["projects"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Move a project through its lifecycle",
    description="`approve`, `accept`, `cancel`: county officer or province admin; `start`, "
    "`complete`: township or county officer. Approval needs a finished `plan` notice and "
    "acceptance a finished `results` notice (409 names the missing one); an action the status "
    "does not allow is 409 listing the allowed ones.",
)
async def create_project_action(
    project_id: UUID,
    body: ProjectActionRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: project_service.act(session, principal, project_id, body), status_code=200
    )


@router.post(
    "/projects/{project_id}/payments",
    status_code=201,
    response_model=PaymentRead,
    tags=["payments"],
    responses=problem_responses(Forbidden, NotFound, Conflict, ValidationFailed),
    summary="Record a payment, or with `reverses` the reversal of one (append-only)",
    description="The net paid never exceeds the budget (409 with `remaining`), nor what the "
    "county holds of the fund: received, less allocated onward and paid (409 with "
    "`available`). Household payments name a beneficiary household (paid to its 一卡通 "
    "account).",
)
async def create_payment(
    project_id: UUID,
    body: PaymentCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: project_service.add_payment(session, principal, project_id, body),
        location=http.location("/v1/projects/{project_id}/payments/{id}"),
    )


@router.get(
    "/projects/{project_id}/payments",
    response_model=Page[PaymentRead],
    tags=["payments"],
    responses=problem_responses(NotFound),
    summary="A project's payment entries, reversals included",
    description="Below the county (township, village) only the payments to households of "
    "your own region; departments see no payee names (`payee` is null).",
)
async def list_payments(
    project_id: UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[PaymentRead]:
    items, next_cursor = await project_service.list_payments(
        session, principal, project_id, cursor, limit
    )
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/projects/{project_id}/payments/{payment_id}/confirm",
    response_model=PaymentRead,
    tags=["payments"],
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Confirm a payment above the funds policy's threshold (a second county account)",
    description="A payment above `payment_confirmation_threshold` (funds policy, 50000.00 "
    "shipped) is `awaiting_confirmation` and counts as paid only once a county officer or "
    "province admin other than its recorder confirms it (不相容职务分离); its money is "
    "reserved meanwhile. 403 for the recorder; 409 if it needs no confirmation, is already "
    "confirmed or was reversed. The audit trail records both accounts.",
)
async def confirm_payment(
    project_id: UUID,
    payment_id: UUID,
    principal: CurrentPrincipal,
    session: SessionDep,
    idem: Idem,
) -> JSONResponse:
    return await idem.run(
        lambda: project_service.confirm_payment(session, principal, project_id, payment_id),
        status_code=200,
    )
