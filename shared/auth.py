"""Authentication and scope, enforced the same way by every service.

Tokens are HS256 JWTs signed with the shared ``POVGUARD_SECRET_KEY``, issued by the registry
(``POST /v1/auth/token``) and carrying ``sub``, ``role`` and ``region_code``. A caller reads and
writes only inside their region; outside it the answer is 404, so existence does not leak.
"""

import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer

from shared import accounts, idnumber, regions, request_context
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, Unauthorized
from shared.i18n import t
from shared.settings import Settings

ALGORITHM = "HS256"
ISSUER = "povguard"


class Role(StrEnum):
    """Who an account is: `province_admin` 省级管理员 (everything in the province, policy, users),
    `county_officer` 县级 (county decisions on cases, projects, funds, assets, imports),
    `township_officer` 乡镇 (township review, household edits), `village_cadre` 村干部 (data
    entry, visits, evidence), `department` 行业部门 (signals, sync, the change feed; no names),
    `auditor` 审计 (read-only, sees the audit log), `service` (Povguard's own services calling
    each other)."""

    province_admin = "province_admin"
    county_officer = "county_officer"
    township_officer = "township_officer"
    village_cadre = "village_cadre"
    department = "department"
    auditor = "auditor"
    service = "service"  # Povguard's own services calling each other


# The region level each role's account must sit at (None: any level).
ROLE_LEVELS: dict[Role, set[regions.RegionLevel] | None] = {
    Role.province_admin: {regions.RegionLevel.province},
    Role.county_officer: {regions.RegionLevel.county},
    Role.township_officer: {regions.RegionLevel.township},
    Role.village_cadre: {regions.RegionLevel.village},
    Role.department: {regions.RegionLevel.province, regions.RegionLevel.county},
    Role.auditor: None,
    Role.service: {regions.RegionLevel.province},
}


class Scope(StrEnum):
    """What a registered client (a partner system, not a person) may do. A person's token has
    no scopes: their role alone decides. A client's token carries only the scopes it was
    granted, and every operation of every service names the one scope it needs (each
    service's ``scopes.py``, declared in its OpenAPI document); the role still applies.
    ``shared.scopes.DESCRIPTIONS`` says what each one opens.

    `changes:read`, `signals:write`, `sync:write`, `webhooks:manage`, `profile:read`,
    `profile:write`, `accounts:manage`, `regions:read`, `regions:write`, `households:read`,
    `households:write`, `imports:read`, `imports:write`, `exports:read`, `audit:read`,
    `policy:read`, `policy:write`, `scans:read`, `scans:write`, `alerts:read`, `scores:read`, `signals:read`,
    `declarations:read`, `declarations:write`, `cases:read`, `cases:write`, `stats:read`,
    `funds:read`, `funds:write`, `projects:read`, `projects:write`, `notices:read`,
    `notices:write`, `assets:read`, `assets:write`, `compliance:read`, `compliance:write`, `duplicates:read`, `duplicates:write`, and for the DCI API (the standard's
    names) `registry.search` (search, transaction status) and `registry.subscribe`."""

    changes_read = "changes:read"
    signals_write = "signals:write"
    sync_write = "sync:write"
    webhooks_manage = "webhooks:manage"
    profile_read = "profile:read"
    profile_write = "profile:write"
    accounts_manage = "accounts:manage"
    regions_read = "regions:read"
    regions_write = "regions:write"
    households_read = "households:read"
    households_write = "households:write"
    imports_read = "imports:read"
    imports_write = "imports:write"
    exports_read = "exports:read"
    audit_read = "audit:read"
    policy_read = "policy:read"
    policy_write = "policy:write"
    scans_read = "scans:read"
    scans_write = "scans:write"
    alerts_read = "alerts:read"
    scores_read = "scores:read"
    signals_read = "signals:read"
    declarations_read = "declarations:read"
    declarations_write = "declarations:write"
    cases_read = "cases:read"
    cases_write = "cases:write"
    stats_read = "stats:read"
    funds_read = "funds:read"
    funds_write = "funds:write"
    projects_read = "projects:read"
    projects_write = "projects:write"
    notices_read = "notices:read"
    notices_write = "notices:write"
    assets_read = "assets:read"
    assets_write = "assets:write"
    compliance_read = "compliance:read"
    compliance_write = "compliance:write"
    duplicates_read = "duplicates:read"
    duplicates_write = "duplicates:write"
    dci_search = "registry.search"
    dci_subscribe = "registry.subscribe"


FULL_ID_ROLES = frozenset({Role.province_admin, Role.county_officer, Role.service})
WRITER_ROLES = frozenset(
    {
        Role.province_admin,
        Role.county_officer,
        Role.township_officer,
        Role.village_cadre,
        Role.service,
    }
)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the verified claims of their token."""

    sub: str
    role: Role
    region_code: str
    # Set for registered clients only (client-credentials tokens); None for people.
    scopes: frozenset[str] | None = None
    client_id: str | None = None
    # The account's token version when the registry issued the token (claim ``ver``); None in
    # tokens a service mints for itself. See shared.accounts.
    token_version: int | None = None

    @property
    def account_key(self) -> str:
        """The account this principal acts for, as shared.accounts names it."""
        return f"client:{self.client_id}" if self.client_id is not None else f"user:{self.sub}"

    @property
    def region_prefix(self) -> str:
        return regions.prefix_of(self.region_code)

    def covers(self, region_code: str) -> bool:
        return region_code.startswith(self.region_prefix)

    def ensure_covers(self, region_code: str, what: str = "resource") -> None:
        """404 when the region is outside the caller's scope, so existence does not leak."""
        if not self.covers(region_code):
            # "region" / "project" / "asset"...: the noun is a msgid too, shown translated.
            raise NotFound(t("{what} not found", f"{what}.not_found", what=t(what)))

    def ensure_role(self, *roles: Role) -> None:
        if self.role not in roles:
            # Role names are catalogue messages: 村干部, 县级干部 ... in Chinese.
            names = sorted(r.value for r in roles)
            allowed = t(
                ", ".join(f"{{r{i}}}" for i in range(len(names))),
                **{f"r{i}": t(name) for i, name in enumerate(names)},
            )
            raise Forbidden(
                t(
                    "role {role} may not do this (allowed: {allowed})",
                    "role.forbidden",
                    role=t(self.role.value),
                    allowed=allowed,
                )
            )

    @property
    def sees_full_id_numbers(self) -> bool:
        return self.role in FULL_ID_ROLES

    @property
    def sees_names(self) -> bool:
        return self.role != Role.department

    def show_id_number(self, number: str) -> str:
        return number if self.sees_full_id_numbers else idnumber.mask(number)

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    @property
    def is_client(self) -> bool:
        """A registered client's token (it carries scopes, maybe none); a person's has none."""
        return self.client_id is not None or self.scopes is not None

    def has_scope(self, scope: Scope) -> bool:
        return not self.is_client or scope.value in (self.scopes or ())

    def ensure_scope(self, scope: Scope) -> None:
        if not self.has_scope(scope):
            raise Forbidden(
                t("this client lacks the scope {scope}", "scope.missing", scope=scope.value)
            )


def issue_token(settings: Settings, principal: Principal, minutes: int | None = None) -> str:
    now = utcnow()
    claims: dict[str, Any] = {
        "sub": principal.sub,
        "role": principal.role.value,
        "region_code": principal.region_code,
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(minutes=minutes or settings.token_minutes),
    }
    if principal.scopes is not None:
        claims["scope"] = " ".join(sorted(principal.scopes))
    if principal.client_id is not None:
        claims["client_id"] = principal.client_id
    if principal.token_version is not None:
        claims["ver"] = principal.token_version
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


# Verified tokens, so a client's every request does not pay for the signature check again
# (a twentieth of a household read): (secret, token) -> (principal, exp). Each hit checks
# the expiry itself; a token is only ever cached after a full verification.
_VERIFIED: dict[tuple[str, str], tuple[Principal, float]] = {}
_VERIFIED_MAX = 10_000


def decode_token(settings: Settings, token: str) -> Principal:
    key = (settings.secret_key, token)
    hit = _VERIFIED.get(key)
    if hit is not None and time.time() < hit[1]:
        return hit[0]
    _VERIFIED.pop(key, None)
    principal, expires = _verify(settings, token)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[next(iter(_VERIFIED))]  # the oldest
    _VERIFIED[key] = (principal, expires)
    return principal


def _verify(settings: Settings, token: str) -> tuple[Principal, float]:
    """The principal a token names and when it expires (epoch seconds), or ``Unauthorized``."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token has expired; sign in again", code="token.expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthorized("token signature is not valid", code="token.bad_signature") from None
    except jwt.PyJWTError as exc:
        raise Unauthorized(
            t("token is not valid: {reason}", "token.invalid", reason=str(exc))
        ) from None
    try:
        scope = claims.get("scope")
        version = claims.get("ver")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
            raise ValueError  # caught below: the token is refused
        principal = Principal(
            sub=str(claims["sub"]),
            role=Role(claims["role"]),
            region_code=claims["region_code"],
            scopes=frozenset(str(scope).split()) if scope is not None else None,
            client_id=claims.get("client_id"),
            token_version=version,
        )
        return principal, float(claims["exp"])
    except (KeyError, ValueError):
        raise Unauthorized(
            "token lacks a valid role or region", code="token.invalid_claims"
        ) from None


oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    if not token:
        raise Unauthorized(
            "a bearer token is required (POST /v1/auth/token on the registry)",
            code="auth.token_required",
        )
    principal = decode_token(request.app.state.settings, token)
    if principal.is_client:
        ensure_operation_scope(request, principal)
    await accounts.check(
        getattr(request.app.state, "arq", None), request.app.state.settings, principal
    )
    request_context.set_user(principal.sub)  # the log lines name the subject, nothing more
    return principal


def ensure_operation_scope(request: Request, principal: Principal) -> None:
    """A client's token must carry the scope the operation needs (the service's map from
    operationId to scope, ``app.state.operation_scopes``). An operation missing from the map
    is closed to clients: a new route is not open to partners by accident."""
    operation = getattr(request.scope.get("route"), "name", None)
    needed = getattr(request.app.state, "operation_scopes", {}).get(operation)
    if needed is None:
        raise Forbidden(
            t(
                "operation {operation} is not open to registered clients",
                "scope.not_for_clients",
                operation=str(operation),
            )
        )
    principal.ensure_scope(needed)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role):
    async def dependency(principal: CurrentPrincipal) -> Principal:
        principal.ensure_role(*roles)
        return principal

    return Depends(dependency)


def require_scope(scope: Scope):
    """A route a client may call only with ``scope`` (people pass: their role decides)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        principal.ensure_scope(scope)
        return principal

    return Depends(dependency)


# A list's ``region`` filter: twelve ASCII digits, checked by the schema before any scope check.
RegionFilter = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{12}$",
        description="12-digit region code inside yours (default: yours); outside it: 404",
        examples=["522301000000"],
    ),
]


def resolve_region_filter(principal: Principal, region: str | None) -> str:
    """The region a list is filtered by: the caller's own unless they ask for one inside it.
    Returns the significant prefix to match codes against."""
    if region is None:
        return principal.region_prefix
    if not regions.is_valid_code(region):
        from shared.errors import ValidationFailed

        raise ValidationFailed.field(
            "region", "must be a 12-digit region code", code="region.code_format"
        )
    principal.ensure_covers(region, "region")
    return regions.prefix_of(region)


async def _scoped_region_prefix(principal: CurrentPrincipal, region: RegionFilter = None) -> str:
    return resolve_region_filter(principal, region)


# The one way a list route learns which regions it may show: the significant prefix of the
# caller's region, or of a region inside it that they asked for. Never wider than the caller.
ScopedRegionPrefix = Annotated[str, Depends(_scoped_region_prefix)]
