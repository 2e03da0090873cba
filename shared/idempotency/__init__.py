"""``Idempotency-Key`` for writes that clients retry.

The key is claimed by inserting a row in the same transaction as the write, so: the same key
and body returns the first response; the same key with another body is 409; two concurrent
requests with one key wait on the row's unique index and the second replays the first's answer;
a write that fails rolls back its claim, so a retry runs afresh."""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from shared.auth import Principal
from shared.errors import Conflict, ValidationFailed
from shared.http import Locator
from shared.idempotency.repository import IdempotencyRepository


class IdempotencyKeyMixin:
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response: Mapped[Any | None] = mapped_column(JSONB, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        # At least one visible character: a blank key is refused by the schema itself.
        pattern=r"\S",
        description="Send the same key when retrying: the first response is replayed.",
    ),
]


class Idempotency:
    def __init__(
        self, session: AsyncSession, model: type[Any], scope: str, key: str | None, body: bytes
    ) -> None:
        self.session, self.model, self.scope, self.key = session, model, scope, key
        self.request_hash = hashlib.sha256(body).hexdigest()
        self.repository = IdempotencyRepository(session, model)

    async def run(
        self,
        write: Callable[[], Awaitable[BaseModel | dict[str, Any] | list[Any]]],
        status_code: int = 201,
        location: Locator | None = None,
    ) -> JSONResponse:
        """``location`` names the created resource's URL from the answer (replays too)."""
        if self.key is None:
            content = jsonable_encoder(await write())
            return JSONResponse(content, status_code, _headers(content, location))
        if not self.key.strip():
            raise ValidationFailed.field(
                "Idempotency-Key", "may not be blank", code="idempotency_key.blank"
            )
        if not await self.repository.claim(self.scope, self.key, self.request_hash):
            return await self._replay(location)
        content = jsonable_encoder(await write())
        row = await self.repository.get(self.scope, self.key)  # claimed above
        row.status_code, row.response = status_code, content
        return JSONResponse(content, status_code, _headers(content, location))

    async def _replay(self, location: Locator | None) -> JSONResponse:
        assert self.key is not None  # only a request with a key is replayed
        row = await self.repository.get(self.scope, self.key)
        if row.request_hash != self.request_hash:
            raise Conflict(
                "this Idempotency-Key was used with a different request body",
                code="idempotency_key.reused",
            )
        headers = {"Idempotent-Replayed": "true", **_headers(row.response, location)}
        return JSONResponse(row.response, status_code=row.status_code, headers=headers)


def _headers(content: Any, location: Locator | None) -> dict[str, str]:
    if location is None or not isinstance(content, dict):
        return {}
    return {"Location": location(content)}


def idempotency_dependency(
    model: type[Any],
    session_dependency: Callable[..., Any],
    principal_dependency: Callable[..., Any],
):
    """Build the service's ``Idempotency`` dependency for its own key table."""

    async def dependency(
        request: Request,
        key: IdempotencyKeyHeader = None,
        session: AsyncSession = Depends(session_dependency, scope="function"),
        principal: Principal = Depends(principal_dependency),
    ) -> Idempotency:
        body = await request.body() if key is not None else b""
        scope = f"{principal.sub}:{request.method}:{request.url.path}"
        return Idempotency(session, model, scope, key, body)

    return dependency


async def purge_expired(session: AsyncSession, model: type[Any], older_than: timedelta) -> int:
    """Forget keys older than the retry window, so the table does not grow without end."""
    return await IdempotencyRepository(session, model).purge_older_than(older_than)
