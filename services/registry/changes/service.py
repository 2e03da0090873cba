"""The change feed's outbox: every registry write records what changed, in its own
transaction, so partners and the monitoring service never miss or double-see a change."""

from typing import Any
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.changes.models import ChangeEvent
from shared.audit import to_jsonable
from shared.contracts.registry import ChangeEntity, ChangeOp


async def record_change(
    session: AsyncSession,
    *,
    entity: ChangeEntity,
    entity_id: Any,
    household_id: UUID | None,
    region_code: str,
    op: ChangeOp,
    data: Any,
) -> None:
    """Append one event; ``data`` is the entity's snapshot after the change (a contract
    model from ``shared.contracts.registry``)."""
    await session.execute(
        insert(ChangeEvent).values(
            entity=entity.value,
            entity_id=str(entity_id),
            household_id=household_id,
            region_code=region_code,
            op=op.value,
            data=to_jsonable(data),
        )
    )
