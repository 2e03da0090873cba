from datetime import datetime
from typing import Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from shared.auth import Principal


def redact(value: Any, principal: Principal) -> Any:
    """Old and new values as the caller may see them: ID numbers masked below county level,
    no names or phones for departments (the same rules as the household read)."""
    if isinstance(value, list):
        return [redact(v, principal) for v in value]
    if not isinstance(value, dict):
        return value
    shown = {}
    for key, item in value.items():
        if key == "id_number" and isinstance(item, str):
            shown[key] = principal.show_id_number(item)
        elif key in ("name", "phone") and not principal.sees_names:
            shown[key] = None
        else:
            shown[key] = redact(item, principal)
    return shown


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
