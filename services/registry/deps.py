"""Dependencies the registry's routers share."""

from typing import Annotated

from fastapi import Depends, Request

from services.registry.database import IdempotencyKey
from shared.accounts import AccountNews
from shared.auth import current_principal
from shared.db import get_session
from shared.idempotency import Idempotency, idempotency_dependency

Idem = Annotated[
    Idempotency, Depends(idempotency_dependency(IdempotencyKey, get_session, current_principal))
]


def news_of(request: Request) -> AccountNews:
    """Where this request announces account changes (after its commit)."""
    return AccountNews(getattr(request.app.state, "arq", None), request.app.state.settings)
