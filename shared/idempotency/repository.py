"""Every statement on a service's ``idempotency_keys`` table."""

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession


class IdempotencyRepository:
    def __init__(self, session: AsyncSession, model: type[Any]) -> None:
        self.session, self.model = session, model

    async def claim(self, scope: str, key: str, request_hash: str) -> bool:
        """Insert the key; False when it exists (after waiting for a concurrent claimer)."""
        claimed = await self.session.execute(
            insert(self.model)
            .values(scope=scope, key=key, request_hash=request_hash)
            .on_conflict_do_nothing()
            .returning(self.model.key)
        )
        return claimed.first() is not None

    async def get(self, scope: str, key: str) -> Any:
        stmt = select(self.model).where(self.model.scope == scope, self.model.key == key)
        return (await self.session.execute(stmt)).scalar_one()

    async def purge_older_than(self, older_than: timedelta) -> int:
        stmt = delete(self.model).where(self.model.created_at < func.now() - older_than)
        result = await self.session.execute(stmt)
        return int(cast("CursorResult[Any]", result).rowcount or 0)
