from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from services.monitoring.declarations import service as declaration_service
from services.monitoring.declarations.models import Declaration
from services.monitoring.declarations.schemas import (
    DeclarationActionRequest,
    DeclarationCreate,
    DeclarationRead,
    DeclarationReceipt,
    DeclarationStage,
    DeclarationStatus,
)
from services.monitoring.deps import Registry
from shared import http
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page, paginate
from shared.ratelimit import client_address
from shared.replica.web import ReplicaSessionDep

router = APIRouter(tags=["declarations"])


def _address(request: Request) -> str:
    return client_address(request, request.app.state.settings.trusted_proxies)


@router.post(
    "/declarations",
    status_code=201,
    response_model=DeclarationReceipt,
    responses=problem_responses(BadRequest, TooManyRequests, ServiceUnavailable, ValidationFailed),
    summary="Declare a difficulty (防贫申报; no login, rate-limited per address, phone and ID)",
    description=(
        "Always answers the same for a well-formed declaration: received, with a tracking "
        "code. Officials match it to a household, check the village and accept it into a case "
        "or not (`GET /v1/declarations`). 503 with `Retry-After` while the rate limiter is "
        "unavailable."
    ),
)
async def create_declaration(
    body: DeclarationCreate, request: Request, session: SessionDep, response: Response
) -> DeclarationReceipt:
    state = request.app.state
    declaration = await declaration_service.submit(
        session, state.arq, state.settings, body, _address(request)
    )
    http.created(response, f"/v1/declarations/{declaration.tracking_code}")
    return DeclarationReceipt(tracking_code=declaration.tracking_code)


@router.get(
    "/declarations/{tracking_code}",
    response_model=DeclarationStatus,
    responses=problem_responses(NotFound, TooManyRequests, ServiceUnavailable),
    summary="A declaration's own progress: received, under_review, accepted or not_accepted",
)
async def get_declaration_status(
    tracking_code: Annotated[str, Path(max_length=20)], request: Request, session: SessionDep
) -> DeclarationStatus:
    """A declaration's own progress (`received`, `under_review`, `accepted`, `not_accepted`) by its
    tracking code, for the person who declared. No sign-in; rate-limited. Answers 200
    `DeclarationStatus`; 404 for an unknown code."""
    state = request.app.state
    await declaration_service.check_lookup_rate(state.arq, state.settings, _address(request))
    stage = await declaration_service.status(session, tracking_code)
    return DeclarationStatus(tracking_code=tracking_code.upper(), stage=stage)


@router.get(
    "/declarations",
    response_model=Page[DeclarationRead],
    responses=problem_responses(Forbidden, NotFound, ValidationFailed),
    summary="Declarations to review: naming a village in your region, or from someone "
    "registered in it",
)
async def list_declarations(
    principal: CurrentPrincipal,
    session: ReplicaSessionDep,
    prefix: ScopedRegionPrefix,
    status: Annotated[DeclarationStage | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[DeclarationRead]:
    """Self-declarations (防贫申报) to review: those naming a village in your region, or from someone
    registered in it. Who: village cadre and above, auditor. Answers 200 `{items, next_cursor}`."""
    stmt = declaration_service.list_query(
        session, principal, prefix, status.value if status else None
    )
    rows, next_cursor = await paginate(
        session, stmt, [Declaration.created_at, Declaration.id], cursor, limit
    )
    items = await declaration_service.reads(session, principal, list(rows))
    return Page(items=items, next_cursor=next_cursor)


@router.post(
    "/declarations/{declaration_id}/actions",
    response_model=DeclarationRead,
    responses=problem_responses(Conflict, Forbidden, NotFound, ValidationFailed),
    summary="Review a declaration: `review` (take it up), `accept` (into a case), `dismiss`",
    description="`accept` opens a case at `discovered` for the household (or joins its open "
    "case); a declarant the registry does not know is placed in the village named, which "
    "must exist. `dismiss` needs the reason in `note`.",
)
async def create_declaration_action(
    declaration_id: UUID,
    body: DeclarationActionRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    registry: Registry,
) -> DeclarationRead:
    declaration = await declaration_service.act(session, principal, declaration_id, body, registry)
    (read,) = await declaration_service.reads(session, principal, [declaration])
    return read
