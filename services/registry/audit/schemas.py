from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel

from shared.auth import Principal
from shared.people import person_view_deep


def redact(value: Any, principal: Principal) -> Any:
    """Old and new values as the caller may see them, by the one masking rule of
    ``shared.people`` (the same as the household read)."""
    return person_view_deep(principal, value)


class AuditEntry(BaseModel):
    """One change-log entry as the audit views show it."""

    id: int  # the entry's sequence number in the registry's change log
    at: datetime
    actor: str
    actor_role: str
    client_id: str | None = None  # the registered client that acted, when one did
    action: str
    entity: str
    entity_id: str
    household_id: UUID | None
    region_code: str
    old: dict[str, Any] | None
    new: dict[str, Any] | None

    @classmethod
    def for_principal(cls, row: Any, principal: Principal) -> Self:
        """``row`` is a change-log entry (``shared.changelog``)."""
        return cls(
            id=row.seq,
            at=row.at,
            actor=row.actor,
            actor_role=row.actor_role,
            client_id=row.client_id,
            action=row.action,
            entity=row.entity,
            entity_id=row.entity_id,
            household_id=row.household_id,
            region_code=row.region_code,
            old=redact(row.old, principal),
            new=redact(row.shown_new, principal),
        )
