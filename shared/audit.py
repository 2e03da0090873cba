"""What the change log (``shared.changelog``) stores of a change: plain JSON values, and only
the fields that changed."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel


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


def json_timestamp_sql(column: str) -> str:
    """A ``timestamptz`` column as JSON text exactly as the Read models (pydantic) write a UTC
    time: ``2026-12-07T05:30:00.123456Z``, the fraction only when there is one; SQL null for
    null. A snapshot built in SQL then reads the same as GET."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"extract(microseconds FROM {column})::bigint % 1000000 <> 0 "
        f"THEN to_char({utc}, '.US') ELSE '' END || 'Z')"
    )


def diff(
    old: dict[str, Any] | None, new: dict[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Keep only the fields that changed, so the log says what changed."""
    if old is None or new is None:
        return old, new
    keys = [k for k in new.keys() | old.keys() if old.get(k) != new.get(k)]
    return {k: old.get(k) for k in sorted(keys)}, {k: new.get(k) for k in sorted(keys)}


_BOOKKEEPING = frozenset({"created_at", "updated_at", "version"})


def row_dict(obj: Any) -> dict[str, Any]:
    """Every column of an ORM row but bookkeeping ones: what the audit log compares."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns if c.key not in _BOOKKEEPING}
