from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Request, Response, status

from services.registry.clients import service as client_service
from services.registry.clients.schemas import (
    ClientCreate,
    ClientRead,
    ClientUpdate,
    ClientWithSecret,
    SecretRotation,
)
from services.registry.deps import news_of
from shared.auth import CurrentPrincipal, ScopedRegionPrefix
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page

router = APIRouter(tags=["clients"])
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The `version` you read.")]


@router.post(
    "/clients",
    response_model=ClientWithSecret,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Forbidden, NotFound),
    summary="Register a partner system (province admin); its secret is shown once",
    description="`name`, `role` (default `department`), `region_code` inside yours, `scopes` "
    "(`changes:read`, `signals:write`, `sync:write`, `webhooks:manage`, `registry.search`, "
    "`registry.subscribe`), `jwks` (its Ed25519 public keys, for the DCI API). The answer's "
    "`client_id` and `client_secret` get tokens at `POST /v1/auth/token` with "
    "`grant_type=client_credentials`; the secret is never shown again.",
)
async def create_client(
    request: Request,
    response: Response,
    data: ClientCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> ClientWithSecret:
    client, secret = await client_service.create_client(session, principal, news_of(request), data)
    response.headers["Location"] = f"/v1/clients/{client.id}"
    return ClientWithSecret(**ClientRead.of(client).model_dump(), client_secret=secret)


@router.get(
    "/clients",
    response_model=Page[ClientRead],
    responses=problem_responses(Forbidden, NotFound),
    summary="Registered clients in your region (province admin, auditor)",
)
async def list_clients(
    principal: CurrentPrincipal,
    session: SessionDep,
    prefix: ScopedRegionPrefix,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[ClientRead]:
    """Lists the registered clients (partner systems) of your region, keyset-paginated; secrets are
    never shown. Who: province admin, auditor. Answers 200 `{items, next_cursor}`."""
    clients, next_cursor = await client_service.list_clients(
        session, principal, prefix, cursor, limit
    )
    return Page(items=[ClientRead.of(c) for c in clients], next_cursor=next_cursor)


@router.get(
    "/clients/{client_id}",
    response_model=ClientRead,
    responses=problem_responses(Forbidden, NotFound),
    summary="One registered client (province admin, auditor)",
)
async def get_client(
    client_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> ClientRead:
    """One registered client: name, role, region, scopes, whether active. Who: province admin,
    auditor, inside their region (else 404). Answers 200 `ClientRead`."""
    return ClientRead.of(await client_service.get_client(session, principal, client_id))


@router.patch(
    "/clients/{client_id}",
    response_model=ClientRead,
    responses=problem_responses(
        Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired
    ),
    summary="Rename, re-scope or revoke a client (province admin; If-Match)",
    description="`active: false` revokes it: its tokens stop working within seconds in every "
    "service and its secret is refused. A change of role, region or scopes ends its tokens. "
    "`jwks` replaces its DCI signing keys.",
)
async def update_client(
    request: Request,
    client_id: UUID,
    data: ClientUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: IfMatch = None,
) -> ClientRead:
    client = await client_service.update_client(
        session, principal, news_of(request), client_id, data, if_match
    )
    return ClientRead.of(client)


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientWithSecret,
    responses=problem_responses(Forbidden, NotFound),
    summary="Rotate a client's secret, keeping the old one for an overlap (province admin)",
    description="Answers the new secret once. The old one keeps working until "
    "`previous_secret_valid_until` (at most 30 days ahead); without it, it stops now.",
)
async def rotate_client_secret(
    client_id: UUID,
    data: SecretRotation,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> ClientWithSecret:
    client, secret = await client_service.rotate_secret(session, principal, client_id, data)
    return ClientWithSecret(**ClientRead.of(client).model_dump(), client_secret=secret)
