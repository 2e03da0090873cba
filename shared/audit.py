"""The audit trail: who changed what, old and new values, written in the same transaction
as the change itself. Each service keeps its own ``audit_log`` table in its own schema."""

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy import BigInteger, DateTime, Index, String, func, insert
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.auth import Principal


def to_jsonable(value: Any) -> Any:
    """Plain JSON for audit and change-feed payloads (money as strings, dates ISO)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    return value


class AuditLogMixin:
    """Columns of a service's ``audit_log`` table."""

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(32))
    # The registered client that acted (a partner system), alongside its ``actor``.
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    household_id: Mapped[UUID | None] = mapped_column(nullable=True)
    region_code: Mapped[str] = mapped_column(String(12, collation="C"))
    old: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)
    new: Mapped[dict[str, Any] | None] = mapped_column(JSONB, nullable=True)

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (
            Index(None, "entity_id", "id"),
            Index(None, "household_id", "id", postgresql_where="household_id IS NOT NULL"),
            Index(None, "actor", "id"),
            Index(None, "region_code", "id"),
        )


def diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Keep only the fields that changed, so the log says what changed."""
    if old is None or new is None:
        return old, new
    keys = [k for k in new.keys() | old.keys() if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in sorted(keys)}, {k: new.get(k) for k in sorted(keys)}


class AuditTrail:
    def __init__(self, model: type[AuditLogMixin]) -> None:
        self.model = model

    async def record(
        self,
        session: AsyncSession,
        principal: Principal,
        *,
        action: str,
        entity: str,
        entity_id: Any,
        region_code: str,
        household_id: UUID | None = None,
        old: dict[str, Any] | None = None,
        new: dict[str, Any] | None = None,
    ) -> None:
        old_j, new_j = diff(to_jsonable(old), to_jsonable(new))
        await session.execute(
            insert(self.model).values(
                actor=principal.sub,
                actor_role=principal.role.value,
                client_id=principal.client_id,
                action=action,
                entity=entity,
                entity_id=str(entity_id),
                household_id=household_id,
                region_code=region_code,
                old=old_j,
                new=new_j,
            )
        )


def dumps(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


_BOOKKEEPING = frozenset({"created_at", "updated_at", "version"})


def row_dict(obj: Any) -> dict[str, Any]:
    """Every column of an ORM row but bookkeeping ones: what the audit log compares."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in _BOOKKEEPING}
