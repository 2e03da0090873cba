"""The one statement that appends to a service's change log outside the ORM unit of work."""

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession


async def append(session: AsyncSession, model: type[Any], row: dict[str, Any]) -> None:
    """Append one entry now (an ``INSERT``, not a pending ORM object: nothing pairs with it)."""
    await session.execute(insert(model).values(row))
