"""Dependencies and scope helpers the funds routers share."""

from typing import Annotated

from fastapi import Depends, Request

from services.funds.database import IdempotencyKey
from shared import regions
from shared.auth import Principal, current_principal, oauth2_scheme
from shared.db import get_session
from shared.errors import NotFound
from shared.i18n import t
from shared.idempotency import Idempotency, idempotency_dependency
from shared.registry_client import RegistryClient

Idem = Annotated[
    Idempotency, Depends(idempotency_dependency(IdempotencyKey, get_session, current_principal))
]


def get_registry(request: Request) -> RegistryClient:
    """The registry API client (funds never reads registry tables)."""
    client = getattr(request.app.state, "registry", None)
    if client is None:
        client = RegistryClient(request.app.state.http, request.app.state.settings)
        request.app.state.registry = client
    return client


Registry = Annotated[RegistryClient, Depends(get_registry)]


def sees(principal: Principal, region_code: str) -> bool:
    """A caller sees what lies in their region, and what a region above them holds (a
    provincial fund, their county's projects): those are published to them anyway."""
    return principal.covers(region_code) or principal.region_code.startswith(
        regions.prefix_of(region_code)
    )


# What a caller may not see reads as missing, in words naming only what was asked for (a
# row by id: its repository's get_visible).
_NOT_FOUND = {
    "county": t("county not found", "region.not_found"),
    "region": t("region not found", "region.not_found"),
}


def ensure_sees(principal: Principal, region_code: str, what: str) -> None:
    if not sees(principal, region_code):
        raise NotFound(_NOT_FOUND.get(what) or t("not found", "not_found"))


def regions_above(principal: Principal) -> list[str]:
    """The regions above the caller's, whose own records (a county's public-welfare asset,
    say) the caller sees too: ``sees`` for lists."""
    above: list[str] = []
    parent = regions.parent_of(principal.region_code)
    while parent is not None:
        above.append(parent)
        parent = regions.parent_of(parent)
    return above


async def optional_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal | None:
    """The caller on a public route: None without a token, else verified like anywhere."""
    if not token:
        return None
    # As every signed-in route: a revoked account is refused, a client needs the scope.
    return await current_principal(request, token)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
