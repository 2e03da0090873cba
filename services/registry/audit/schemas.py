from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.auth import Principal
from shared.people import person_view_deep


def redact(value: Any, principal: Principal) -> Any:
    """Old and new values as the caller may see them, by the one masking rule of
    ``shared.people`` (the same as the household read)."""
    return person_view_deep(principal, value)


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
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
        entry = cls.model_validate(row)
        return entry.model_copy(
            update={"old": redact(entry.old, principal), "new": redact(entry.new, principal)}
        )
