from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from services.registry.auth import service as auth_service
from services.registry.auth.schemas import Me, Token, UserCreate, UserRead
from shared import ratelimit
from shared.auth import CurrentPrincipal, issue_token
from shared.db import SessionDep
from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    problem_responses,
)

router = APIRouter(tags=["auth"])
LOGIN_ATTEMPTS, LOGIN_WINDOW_S = 10, 900


@router.post(
    "/auth/token",
    response_model=Token,
    responses=problem_responses(Unauthorized, TooManyRequests),
    summary="Sign in (OAuth2 password form) and get a bearer token",
)
async def sign_in(
    request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> Token:
    # Throttle password guessing per account across every registry instance.
    throttle_key = f"login:{request.app.state.settings.queue_name}:{form.username}"
    await ratelimit.hit(
        request.app.state.arq, throttle_key, limit=LOGIN_ATTEMPTS, window_s=LOGIN_WINDOW_S
    )
    principal = await auth_service.authenticate(session, form.username, form.password)
    await ratelimit.reset(request.app.state.arq, throttle_key)
    settings = request.app.state.settings
    return Token(
        access_token=issue_token(settings, principal), expires_in=settings.token_minutes * 60
    )


@router.get("/me", response_model=Me, summary="Who the token belongs to")
async def me(principal: CurrentPrincipal) -> Me:
    return Me(
        username=principal.sub,
        role=principal.role,
        region_code=principal.region_code,
        sees_full_id_numbers=principal.sees_full_id_numbers,
    )


@router.post(
    "/users",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(Forbidden, NotFound, Conflict),
    summary="Create an account inside your own region (province admin)",
)
async def create_user(
    data: UserCreate, principal: CurrentPrincipal, session: SessionDep
) -> UserRead:
    user = await auth_service.create_user(session, principal, data)
    return UserRead.model_validate(user)
