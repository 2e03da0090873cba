"""Dependencies the monitoring routers share."""

from typing import Annotated

from fastapi import Depends, Header, Request

from services.monitoring.database import IdempotencyKey
from shared.auth import current_principal
from shared.db import get_session
from shared.idempotency import Idempotency, idempotency_dependency
from shared.registry_client import RegistryClient


def registry_client(request: Request) -> RegistryClient:
    state = request.app.state
    client = getattr(state, "registry_client", None)
    if client is None:
        client = RegistryClient(
            state.http, state.settings, base_url=getattr(state, "registry_base_url", None)
        )
        state.registry_client = client
    return client


def bearer_token(request: Request) -> str | None:
    """The caller's own token, forwarded so the registry scopes and audits them."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


Registry = Annotated[RegistryClient, Depends(registry_client)]
CallerToken = Annotated[str | None, Depends(bearer_token)]
Idem = Annotated[
    Idempotency, Depends(idempotency_dependency(IdempotencyKey, get_session, current_principal))
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The version you read; a stale one is 412."),
]
