"""Every statement on a service's ``job_outbox`` table."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession


class OutboxRepository:
    def __init__(self, session: AsyncSession, model: type[Any]) -> None:
        self.session, self.model = session, model

    async def oldest(self, limit: int) -> list[Any]:
        """The oldest rows no other relay holds, locked until this transaction ends."""
        stmt = (
            select(self.model)
            .order_by(self.model.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def delete(self, ids: Sequence[UUID]) -> None:
        await self.session.execute(delete(self.model).where(self.model.id.in_(ids)))
