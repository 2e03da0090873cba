from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.funds.deps import Idem, Registry
from services.funds.projects import service as project_service
from services.funds.projects.schemas import (
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
from shared.replica.web import ReplicaSessionDep

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
    session: ReplicaSessionDep,
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
