"""Registered clients (OAuth2 client credentials): partner systems with their own id, secret,
role, region and scopes, managed by the province admin."""

import hashlib
import hmac
import secrets
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.auth import service as auth_service
from services.registry.clients.models import Client
from services.registry.clients.repository import ClientRepository
from services.registry.clients.schemas import ClientCreate, ClientUpdate, SecretRotation
from services.registry.database import change_log
from shared import accounts
from shared.accounts import AccountNews
from shared.auth import Principal, Role
from shared.concurrency import check_version
from shared.db import utcnow
from shared.errors import BadRequest, NotFound, Unauthorized, ValidationFailed
from shared.i18n import t

SECRET_PREFIX = "pgcs_"
MAX_OVERLAP = timedelta(days=30)
# A client is a system, never an administrator of Povguard nor one of its own services.
CLIENT_ROLES = frozenset(Role) - {Role.province_admin, Role.service}
WRONG_CLIENT = t("wrong client id or secret", "client.bad_credentials")
CLIENT_NOT_FOUND = t("client not found", "client.not_found")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _check_role(role: Role) -> None:
    if role not in CLIENT_ROLES:
        allowed = ", ".join(sorted(r.value for r in CLIENT_ROLES))
        raise ValidationFailed.field(
            "role", t("a client's role is one of {allowed}", "client.role", allowed=allowed)
        )


def _snapshot(client: Client) -> dict[str, object]:
    return {
        "name": client.name,
        "role": client.role,
        "region_code": client.region_code,
        "scopes": sorted(client.scopes),
        "active": client.is_active,
        "jwks_kids": [k["kid"] for k in (client.jwks or {}).get("keys", [])],
    }


def _announce(session: AsyncSession, news: AccountNews, client: Client) -> None:
    news.changed(
        session,
        accounts.client_key(client.id),
        client.token_version,
        client.is_active,
        (client.role, client.region_code),
    )


async def create_client(
    session: AsyncSession, principal: Principal, news: AccountNews, data: ClientCreate
) -> tuple[Client, str]:
    """The client and its secret, which is never shown again."""
    principal.ensure_role(Role.province_admin)
    principal.ensure_covers(data.region_code, "region")
    _check_role(data.role)
    await auth_service.check_account_rules(session, data.role, data.region_code)
    secret = new_secret()
    repo = ClientRepository(session)
    client = repo.add(
        Client(
            name=data.name,
            role=data.role.value,
            region_code=data.region_code,
            scopes=sorted({s.value for s in data.scopes}),
            secret_hash=_digest(secret),
            created_by=principal.sub,
            jwks=data.jwks.model_dump() if data.jwks is not None else None,
        )
    )
    await repo.flush()
    await change_log.record(
        session,
        principal,
        action="create",
        entity="client",
        entity_id=client.id,
        region_code=client.region_code,
        new=_snapshot(client),
    )
    _announce(session, news, client)
    return client, secret


async def get_client(session: AsyncSession, principal: Principal, client_id: UUID) -> Client:
    principal.ensure_role(*auth_service.ACCOUNT_READERS)
    client = await ClientRepository(session).get(client_id)
    if client is None or not principal.covers(client.region_code):
        raise NotFound(CLIENT_NOT_FOUND)
    return client


async def list_clients(
    session: AsyncSession, principal: Principal, prefix: str, cursor: str | None, limit: int
) -> tuple[list[Client], str | None]:
    principal.ensure_role(*auth_service.ACCOUNT_READERS)
    return await ClientRepository(session).page(prefix, cursor, limit)


async def update_client(
    session: AsyncSession,
    principal: Principal,
    news: AccountNews,
    client_id: UUID,
    data: ClientUpdate,
    if_match: str | None,
) -> Client:
    principal.ensure_role(Role.province_admin)
    client = await get_client(session, principal, client_id)
    check_version(if_match, client.version)
    old = _snapshot(client)
    role = data.role or Role(client.role)
    region_code = data.region_code or client.region_code
    if data.role is not None or data.region_code is not None:
        principal.ensure_covers(region_code, "region")
        _check_role(role)
        await auth_service.check_account_rules(session, role, region_code)
    scopes = client.scopes if data.scopes is None else sorted({s.value for s in data.scopes})
    active = client.is_active if data.active is None else data.active
    ends_tokens = (
        role.value != client.role
        or region_code != client.region_code
        or set(scopes) != set(client.scopes)
        or active != client.is_active
    )
    if data.name is not None:
        client.name = data.name
    if data.jwks is not None:
        client.jwks = data.jwks.model_dump()
    client.role, client.region_code, client.scopes, client.is_active = (
        role.value,
        region_code,
        scopes,
        active,
    )
    if ends_tokens:
        client.token_version += 1
    if not ends_tokens and data.name in (None, old["name"]) and data.jwks is None:
        return client
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="update",
        entity="client",
        entity_id=client.id,
        region_code=client.region_code,
        old=old,
        new=_snapshot(client),
    )
    if ends_tokens:
        _announce(session, news, client)
    return client


async def rotate_secret(
    session: AsyncSession, principal: Principal, client_id: UUID, data: SecretRotation
) -> tuple[Client, str]:
    """A new secret; the current one keeps working until ``previous_secret_valid_until``
    (so the partner can deploy the new one without an outage), then stops."""
    principal.ensure_role(Role.province_admin)
    client = await get_client(session, principal, client_id)
    now = utcnow()
    until = data.previous_secret_valid_until
    if until is not None and until > now + MAX_OVERLAP:
        raise ValidationFailed.field(
            "previous_secret_valid_until",
            "may be at most 30 days from now",
            code="client.overlap_too_long",
        )
    secret = new_secret()
    overlap = until is not None and until > now
    client.previous_secret_hash = client.secret_hash if overlap else None
    client.previous_secret_expires_at = until if overlap else None
    client.secret_hash, client.secret_rotated_at = _digest(secret), now
    await session.flush()
    await change_log.record(
        session,
        principal,
        action="rotate_secret",
        entity="client",
        entity_id=client.id,
        region_code=client.region_code,
        new={"previous_secret_valid_until": client.previous_secret_expires_at},
    )
    return client, secret


async def authenticate(session: AsyncSession, client_id: str, secret: str) -> Client:
    """The active client whose current (or still overlapping previous) secret this is."""
    try:
        key = UUID(client_id)
    except ValueError:
        raise Unauthorized(WRONG_CLIENT, error="invalid_client") from None
    client = await ClientRepository(session).get(key)
    digest = _digest(secret)
    if client is not None and client.is_active:
        if hmac.compare_digest(digest, client.secret_hash):
            return client
        expires = client.previous_secret_expires_at
        if (
            client.previous_secret_hash is not None
            and expires is not None
            and expires > utcnow()
            and hmac.compare_digest(digest, client.previous_secret_hash)
        ):
            return client
    raise Unauthorized(WRONG_CLIENT, error="invalid_client")


def principal_of(client: Client, requested: str | None) -> Principal:
    """The token's principal: the client's role and region, and the scopes it asked for
    (``scope``, space-separated; absent: every scope it was granted)."""
    granted = frozenset(client.scopes)
    scopes = granted if requested is None else frozenset(requested.split())
    unknown = scopes - granted
    if unknown:
        raise BadRequest(
            t(
                "this client may not have the scope(s) {scopes}",
                "client.scope_not_granted",
                scopes=" ".join(sorted(unknown)),
            ),
            error="invalid_scope",
        )
    return Principal(
        sub=f"client:{client.id}",
        role=Role(client.role),
        region_code=client.region_code,
        scopes=scopes,
        client_id=str(client.id),
        token_version=client.token_version,
    )
