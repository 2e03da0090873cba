"""Accounts, sign-in and tokens.

Passwords are hashed and checked with argon2 in a worker thread: it takes tens of
milliseconds of CPU, and on the event loop every request in flight would wait for it."""

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID, uuid4

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.auth.models import RefreshToken, User
from services.registry.auth.repository import RefreshTokenRepository, UserRepository
from services.registry.auth.schemas import PasswordChange, Token, UserCreate, UserUpdate
from services.registry.database import change_log
from services.registry.regions import service as region_service
from shared import accounts, regions
from shared.accounts import AccountNews
from shared.auth import (
    ROLE_LEVELS,
    Principal,
    Role,
    hash_password,
    issue_token,
    verify_password,
)
from shared.concurrency import check_version
from shared.db import utcnow
from shared.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from shared.i18n import t
from shared.settings import Settings

WRONG_CREDENTIALS = t("wrong username or password", "auth.bad_credentials")
BAD_REFRESH_TOKEN = t("the refresh token is not valid; sign in again", "auth.refresh_token_invalid")
REUSED_REFRESH_TOKEN = t(
    "this refresh token was already used: every token of its sign-in is revoked; sign in again",
    "auth.refresh_token_reused",
)
USER_NOT_FOUND = t("user not found", "user.not_found")
SERVICE_BY_CLI = t(
    "service accounts are made only with the command line (povguard create-user)",
    "user.service_cli_only",
)
NO_PROMOTION = t(
    "an account cannot be made a province admin; create a new one, which another province "
    "admin approves",
    "user.province_admin_promotion",
)
NOT_PENDING = t("this account is not waiting for approval", "user.not_pending")
OWN_APPROVAL = t("another province admin must approve the account you created", "user.own_approval")


# Verifying against a real hash when the user is unknown keeps sign-in time the same,
# so response time does not tell which usernames exist.
_DUMMY_HASH = hash_password("not-a-real-password")


async def hash_in_thread(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password, password)


async def verify_in_thread(password_hash: str, password: str) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password_hash, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def principal_of(user: User) -> Principal:
    return Principal(
        sub=user.username,
        role=Role(user.role),
        region_code=user.region_code,
        token_version=user.token_version,
    )


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    """The active account ``username`` if ``password`` is its password, else 401; an unknown
    or inactive account costs the same argon2 check as a known one."""
    found = await UserRepository(session).get_by_username(username)
    user = found if found is not None and found.is_active else None
    ok = await verify_in_thread(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok:
        raise Unauthorized(WRONG_CREDENTIALS, error="invalid_grant")
    return user


async def _issue_pair(
    session: AsyncSession, settings: Settings, user: User, family_id: UUID | None = None
) -> Token:
    raw = secrets.token_urlsafe(32)
    RefreshTokenRepository(session).add(
        RefreshToken(
            family_id=family_id or uuid4(),
            user_id=user.id,
            token_hash=_digest(raw),
            expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
        )
    )
    await session.flush()
    return Token(
        access_token=issue_token(settings, principal_of(user)),
        expires_in=settings.token_minutes * 60,
        refresh_token=raw,
    )


async def sign_in(session: AsyncSession, settings: Settings, username: str, password: str) -> Token:
    user = await authenticate(session, username, password)
    return await _issue_pair(session, settings, user)


async def refresh(session: AsyncSession, settings: Settings, raw: str) -> Token | AppError:
    """A new pair for a live refresh token, which is retired. A retired token presented
    again was copied (the thief or the owner used it first): its whole family is revoked.
    That revocation must be committed although the answer is an error, so the error is
    returned rather than raised."""
    repo = RefreshTokenRepository(session)
    token = await repo.use(_digest(raw))
    if token is None:
        known = await repo.get_by_hash(_digest(raw))
        if known is not None and known.used_at is not None and known.revoked_at is None:
            await repo.revoke_family(known.family_id)
            return BadRequest(REUSED_REFRESH_TOKEN, error="invalid_grant")
        return BadRequest(BAD_REFRESH_TOKEN, error="invalid_grant")
    user = await UserRepository(session).get(token.user_id)
    if user is None or not user.is_active:
        await repo.revoke_family(token.family_id)
        return BadRequest(BAD_REFRESH_TOKEN, error="invalid_grant")
    return await _issue_pair(session, settings, user, token.family_id)


async def revoke(session: AsyncSession, raw: str) -> None:
    """RFC 7009: revoke the refresh token's whole sign-in. Anything else (an unknown token,
    an access token, which lapses by itself within minutes) is answered the same way."""
    repo = RefreshTokenRepository(session)
    token = await repo.get_by_hash(_digest(raw))
    if token is not None:
        await repo.revoke_family(token.family_id)


def check_role_fits_region(role: Role, region_code: str) -> None:
    levels = ROLE_LEVELS[role]
    level = regions.level_of(region_code)
    if levels is not None and level not in levels:
        allowed = ", ".join(sorted(levels))
        raise ValidationFailed.field(
            "region_code",
            t(
                "a {role} account sits at {allowed} level, not {level}",
                "user.role_level",
                role=role.value,
                allowed=t(allowed),  # "village", "county, province": msgids too
                level=t(str(level)),
            ),
        )


async def check_account_rules(session: AsyncSession, role: Role, region_code: str) -> None:
    """What every account must satisfy, from the API and the CLI alike: its role sits at its
    region's level, and the region is in the registry."""
    check_role_fits_region(role, region_code)
    await region_service.require_region(session, region_code)


def _snapshot(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "role": user.role,
        "region_code": user.region_code,
        "active": user.is_active,
    }


async def create_user(
    session: AsyncSession, principal: Principal, news: AccountNews, data: UserCreate
) -> User:
    principal.ensure_role(Role.province_admin)
    principal.ensure_covers(data.region_code, "region")
    if data.role == Role.service:
        raise Forbidden(SERVICE_BY_CLI)
    await check_account_rules(session, data.role, data.region_code)
    # Separation of duties: a province admin made here waits for a second one's approval.
    pending = data.role == Role.province_admin
    repo = UserRepository(session)
    if await repo.get_by_username(data.username) is not None:
        raise Conflict(
            t("username {username} is taken", "user.username_taken", username=repr(data.username))
        )
    user = repo.add(
        User(
            username=data.username,
            password_hash=await hash_in_thread(data.password),
            role=data.role.value,
            region_code=data.region_code,
            is_active=not pending,
            created_by=principal.sub,
            approval_pending_since=utcnow() if pending else None,
        )
    )
    await repo.flush()
    await change_log.record(
        session,
        principal,
        action="create",
        entity="user",
        entity_id=user.id,
        region_code=user.region_code,
        new=_snapshot(user),
    )
    news.changed(
        session,
        accounts.user_key(user.username),
        user.token_version,
        user.is_active,
        (user.role, user.region_code),
    )
    return user


async def approve_user(
    session: AsyncSession, principal: Principal, news: AccountNews, user_id: UUID
) -> User:
    """A second province admin lets a province admin created through the API sign in."""
    principal.ensure_role(Role.province_admin)
    user = await get_user(session, principal, user_id)
    if user.approval_pending_since is None:
        raise Conflict(NOT_PENDING)
    if user.created_by == principal.sub:
        raise Forbidden(OWN_APPROVAL)
    old = _snapshot(user)
    user.is_active, user.approval_pending_since = True, None
    user.token_version += 1
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="approve",
        entity="user",
        entity_id=user.id,
        region_code=user.region_code,
        old=old,
        new=_snapshot(user),
    )
    news.changed(
        session,
        accounts.user_key(user.username),
        user.token_version,
        True,
        (user.role, user.region_code),
    )
    return user


ACCOUNT_READERS = (Role.province_admin, Role.auditor)


def _check_role_change(old: Role, new: Role) -> None:
    """No account becomes a service or a province admin through the API (see create_user)."""
    if new == old:
        return
    if new == Role.service:
        raise Forbidden(SERVICE_BY_CLI)
    if new == Role.province_admin:
        raise Forbidden(NO_PROMOTION)


async def get_user(session: AsyncSession, principal: Principal, user_id: UUID) -> User:
    principal.ensure_role(*ACCOUNT_READERS)
    user = await UserRepository(session).get(user_id)
    if user is None or not principal.covers(user.region_code):
        raise NotFound(USER_NOT_FOUND)
    return user


async def list_users(
    session: AsyncSession,
    principal: Principal,
    prefix: str,
    role: Role | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[User], str | None]:
    principal.ensure_role(*ACCOUNT_READERS)
    return await UserRepository(session).page(prefix, role.value if role else None, cursor, limit)


async def update_user(
    session: AsyncSession,
    principal: Principal,
    news: AccountNews,
    user_id: UUID,
    data: UserUpdate,
    if_match: str | None,
) -> User:
    principal.ensure_role(Role.province_admin)
    user = await get_user(session, principal, user_id)
    check_version(if_match, user.version)
    old = _snapshot(user)
    role = data.role or Role(user.role)
    region_code = data.region_code or user.region_code
    if data.role is not None or data.region_code is not None:
        principal.ensure_covers(region_code, "region")
        _check_role_change(Role(user.role), role)
        await check_account_rules(session, role, region_code)
    if data.active and user.approval_pending_since is not None:
        raise Conflict(
            t(
                "this account waits for a second province admin's approval "
                "(POST /v1/users/{id}/approve)",
                "user.pending_approval",
                id=user.id,
            )
        )
    active = user.is_active if data.active is None else data.active
    changes_access = (
        active != user.is_active or role.value != user.role or region_code != user.region_code
    )
    if user.username == principal.sub and changes_access:
        raise Conflict(
            "you cannot deactivate your own account or change its role or region",
            code="user.self_change",
        )
    if not changes_access and data.password is None:
        return user
    user.role, user.region_code, user.is_active = role.value, region_code, active
    if data.password is not None:
        user.password_hash = await hash_in_thread(data.password)
    user.token_version += 1
    await RefreshTokenRepository(session).revoke_user(user.id)
    await session.flush()
    new = _snapshot(user) | ({"password": "reset"} if data.password is not None else {})
    await change_log.record(
        session,
        principal,
        action="update",
        entity="user",
        entity_id=user.id,
        region_code=user.region_code,
        old=old,
        new=new,
    )
    news.changed(
        session,
        accounts.user_key(user.username),
        user.token_version,
        user.is_active,
        (user.role, user.region_code),
    )
    return user


async def change_own_password(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    news: AccountNews,
    data: PasswordChange,
) -> Token:
    """Every other sign-in of the account ends; the answer is a new pair for this one."""
    if principal.client_id is not None:
        raise Forbidden(
            "a client has a secret, not a password: rotate it at /v1/clients",
            code="password.client",
        )
    user = await UserRepository(session).get_by_username(principal.sub)
    if user is None or not user.is_active:
        raise NotFound(USER_NOT_FOUND)
    if not await verify_in_thread(user.password_hash, data.current_password):
        raise ValidationFailed.field(
            "current_password", "is not the account's password", code="password.wrong"
        )
    user.password_hash = await hash_in_thread(data.new_password)
    user.token_version += 1
    await RefreshTokenRepository(session).revoke_user(user.id)
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="change_password",
        entity="user",
        entity_id=user.id,
        region_code=user.region_code,
    )
    news.changed(
        session,
        accounts.user_key(user.username),
        user.token_version,
        True,
        (user.role, user.region_code),
    )
    return await _issue_pair(session, settings, user)


async def ensure_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: Role,
    region_code: str,
    news: AccountNews | None = None,
) -> bool:
    """Create or reset a bootstrap account (the CLI's ``create-user``) under the same role
    and region rules as the API. True if created. A reset ends the account's sign-ins."""
    await check_account_rules(session, role, region_code)
    repo = UserRepository(session)
    user = await repo.get_by_username(username)
    password_hash = await hash_in_thread(password)
    created = user is None
    if user is None:
        user = repo.add(
            User(
                username=username,
                password_hash=password_hash,
                role=role.value,
                region_code=region_code,
            )
        )
    else:
        user.password_hash, user.role, user.region_code, user.is_active = (
            password_hash,
            role.value,
            region_code,
            True,
        )
        user.token_version += 1
        await RefreshTokenRepository(session).revoke_user(user.id)
    await repo.flush()
    if news is not None:
        news.changed(
            session,
            accounts.user_key(user.username),
            user.token_version,
            True,
            (user.role, user.region_code),
        )
    return created
