import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus
from uuid import UUID

from fastapi import APIRouter, Form, Header, Request, Response, status
from fastapi.responses import JSONResponse

from services.registry.auth import service as auth_service
from services.registry.auth.schemas import (
    Me,
    PasswordChange,
    Token,
    TokenRequest,
    UserCreate,
    UserRead,
    UserUpdate,
)
from services.registry.auth.throttle import SignInAttempt, client_name
from services.registry.clients import service as client_service
from services.registry.deps import news_of
from shared.app import locale_of, problem_response
from shared.auth import CurrentPrincipal, Role, ScopedRegionPrefix, issue_token
from shared.db import SessionDep
from shared.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
    problem_responses,
)
from shared.pagination import Cursor, Limit, Page
from shared.ratelimit import client_address

router = APIRouter(tags=["auth"])
# RFC 6749 5.1: token answers must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """Client id and secret from HTTP Basic (RFC 6749 2.3.1: each form-urlencoded)."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized(client_service.WRONG_CLIENT, error="invalid_client") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise Unauthorized(client_service.WRONG_CLIENT, error="invalid_client")
    return unquote_plus(client_id), unquote_plus(secret)


@router.post(
    "/auth/token",
    response_model=Token,
    responses=problem_responses(BadRequest, Unauthorized, TooManyRequests),
    summary="Get tokens: sign in with a password, refresh, or as a registered client",
    description=(
        "OAuth2 (RFC 6749) form. `grant_type=password` (the default): `username`, `password`; "
        "answers an access token and a `refresh_token`. `grant_type=refresh_token`: "
        "`refresh_token`; answers a new pair and retires the one sent (using a retired one "
        "again revokes every token of that sign-in). `grant_type=client_credentials`: "
        "`client_id` and `client_secret` in the form or in HTTP Basic, optional `scope`; "
        "answers an access token with the client's role, region and scopes. Wrong passwords "
        "and secrets are limited per account and client address (429 with Retry-After)."
    ),
)
async def create_token(
    request: Request,
    session: SessionDep,
    form: Annotated[TokenRequest, Form()],
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    settings = request.app.state.settings
    redis = getattr(request.app.state, "arq", None)
    address = client_address(request, settings.trusted_proxies)
    if form.grant_type == "refresh_token":
        if not form.refresh_token:
            raise ValidationFailed.field(
                "refresh_token", "is required for this grant", code="auth.refresh_token_required"
            )
        result = await auth_service.refresh(session, settings, form.refresh_token)
        if isinstance(result, AppError):  # committed: a reused token's family stays revoked
            return problem_response(result.status, result.problem(locale_of(request)), NO_STORE)
        pair = result
    elif form.grant_type == "client_credentials":
        credentials = _basic_credentials(authorization) or (
            (form.client_id, form.client_secret)
            if form.client_id is not None and form.client_secret is not None
            else None
        )
        if credentials is None:
            raise Unauthorized(client_service.WRONG_CLIENT, error="invalid_client")
        attempt = SignInAttempt(redis, settings, client_name(credentials[0]), address)
        await attempt.begin()
        client = await client_service.authenticate(session, *credentials)
        await attempt.succeeded()
        principal = client_service.principal_of(client, form.scope)
        pair = Token(
            access_token=issue_token(settings, principal),
            expires_in=settings.token_minutes * 60,
            scope=" ".join(sorted(principal.scopes or ())),
        )
    else:
        if form.username is None or form.password is None:
            raise ValidationFailed.field(
                "username", "username and password are required", code="auth.credentials_required"
            )
        attempt = SignInAttempt(redis, settings, form.username, address)
        await attempt.begin()
        pair = await auth_service.sign_in(session, settings, form.username, form.password)
        await attempt.succeeded()
    return JSONResponse(pair.model_dump(exclude_none=True), headers=NO_STORE)


@router.post(
    "/auth/revoke",
    status_code=status.HTTP_200_OK,
    # An empty answer: documented without a body, as it is sent.
    response_class=Response,
    responses={200: {"description": "Revoked, or never known (RFC 7009)"}},
    summary="Sign out: revoke a refresh token and every token of its sign-in (RFC 7009)",
    description=(
        "Form field `token` (and optional `token_type_hint`). Answers 200 whether or not the "
        "token was known, as RFC 7009 says. Access tokens lapse by themselves within "
        "minutes; an account's tokens all stop when an admin deactivates it."
    ),
)
async def revoke_token(
    session: SessionDep,
    token: Annotated[str, Form(max_length=2000)],
    token_type_hint: Annotated[str | None, Form(max_length=50)] = None,
) -> Response:
    await auth_service.revoke(session, token)
    return Response(status_code=200, headers=NO_STORE)


@router.get(
    "/me",
    response_model=Me,
    response_model_exclude_none=True,
    summary="Who the token belongs to (a client's token also names its client and scopes)",
)
async def get_me(principal: CurrentPrincipal) -> Me:
    """Who the bearer token belongs to: username, role, region code, whether full ID numbers (身份证号)
    are shown to it, and for a registered client its client id and scopes. Who: any signed-in
    user or client. Answers 200 `Me`."""
    return Me(
        username=principal.sub,
        role=principal.role,
        region_code=principal.region_code,
        sees_full_id_numbers=principal.sees_full_id_numbers,
        client_id=principal.client_id,
        scopes=sorted(principal.scopes) if principal.scopes is not None else None,
    )


@router.post(
    "/me/password",
    response_model=Token,
    responses=problem_responses(Forbidden, NotFound, TooManyRequests),
    summary="Change your password; every other sign-in of yours ends",
    description="Answers a new token pair for this sign-in; others (other devices, refresh "
    "tokens) stop working. Wrong current passwords count against the sign-in limits.",
)
async def change_password(
    request: Request, data: PasswordChange, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    settings = request.app.state.settings
    redis = getattr(request.app.state, "arq", None)
    attempt = SignInAttempt(
        redis, settings, principal.sub, client_address(request, settings.trusted_proxies)
    )
    await attempt.begin()
    pair = await auth_service.change_own_password(
        session, settings, principal, news_of(request), data
    )
    await attempt.succeeded()
    return JSONResponse(pair.model_dump(exclude_none=True), headers=NO_STORE)


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Create an account inside your own region (province admin)",
)
async def create_user(
    request: Request,
    response: Response,
    data: UserCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> UserRead:
    """Creates an account (username, password, role, region code) inside the creator's region; the
    role must sit at its region's level (a county officer at a county...). A `province_admin`
    is created inactive, `pending_approval`, until another province admin approves it
    (`POST /v1/users/{id}/approve`); `service` accounts are made only with the command line
    (403). Who: province admin. Answers 201 with the account; 409 when the username is taken."""
    user = await auth_service.create_user(session, principal, news_of(request), data)
    response.headers["Location"] = f"/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.post(
    "/users/{user_id}/approve",
    response_model=UserRead,
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Approve a province admin another province admin created (province admin)",
)
async def approve_user(
    request: Request, user_id: UUID, principal: CurrentPrincipal, session: SessionDep
) -> UserRead:
    """A province admin created through the API stays inactive (`pending_approval`) until a
    province admin other than its creator approves it here; then it can sign in. Who: province
    admin, inside their region. Answers 200 with the account; 409 when it is not pending; 403
    for its own creator."""
    user = await auth_service.approve_user(session, principal, news_of(request), user_id)
    return UserRead.model_validate(user)


@router.get(
    "/users",
    response_model=Page[UserRead],
    responses=problem_responses(Forbidden, NotFound),
    summary="Accounts in your region, by username (province admin, auditor)",
)
async def list_users(
    principal: CurrentPrincipal,
    session: SessionDep,
    prefix: ScopedRegionPrefix,
    role: Role | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[UserRead]:
    """Lists the accounts of your region, by username, keyset-paginated. Who: province admin,
    auditor. Answers 200 `{items, next_cursor}`."""
    users, next_cursor = await auth_service.list_users(
        session, principal, prefix, role, cursor, limit
    )
    return Page(items=[UserRead.model_validate(u) for u in users], next_cursor=next_cursor)


@router.get(
    "/users/{user_id}",
    response_model=UserRead,
    responses=problem_responses(Forbidden, NotFound),
    summary="One account (province admin, auditor)",
)
async def get_user(user_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> UserRead:
    """One account: role, region, whether active. Who: province admin, auditor, inside their region
    (else 404). Answers 200 `UserRead`."""
    return UserRead.model_validate(await auth_service.get_user(session, principal, user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    responses=problem_responses(
        Forbidden, NotFound, Conflict, PreconditionFailed, PreconditionRequired
    ),
    summary="Deactivate, move or reset an account (province admin; If-Match)",
    description="`active`, `role`, `region_code` (same rules as creating), `password` (a "
    "reset). Any of them ends the account's sign-ins within seconds in every service.",
)
async def update_user(
    request: Request,
    user_id: UUID,
    data: UserUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> UserRead:
    user = await auth_service.update_user(
        session, principal, news_of(request), user_id, data, if_match
    )
    return UserRead.model_validate(user)
