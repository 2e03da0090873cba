"""Dependencies the registry's routers share."""

from typing import Annotated

from fastapi import Depends

from services.registry.database import IdempotencyKey
from shared.auth import current_principal
from shared.db import get_session
from shared.idempotency import Idempotency, idempotency_dependency

Idem = Annotated[
    Idempotency, Depends(idempotency_dependency(IdempotencyKey, get_session, current_principal))
]
